// A PMPI interposer that counts the MPI calls of each rank and the wall time spent in them, by
// function, with a histogram of call durations; at MPI_Finalize each rank prints its table to
// stderr. With MPI_CALL_PROFILE_RING=N, rank 0 also prints its last N calls (function, count
// argument where there is one, duration) in order, which shows one step's sequence of
// collectives and which of them absorbs the ranks' imbalance (docs/distributed.md, "Stop 26").
//
// Not part of the build: it needs no change to Batchwise, only the dynamic linker.
//
//   mpicc -shared -fPIC -O2 -o /tmp/libmpi_call_profile.so Benchmarks/probes/mpi_call_profile.c
//   export LD_PRELOAD=/tmp/libmpi_call_profile.so MPI_CALL_PROFILE_RING=120
//   .build/release/batchwise-bench distributed --steps 1000 --iterations 1 --slices 1
//
// (`batchwise-bench distributed` passes its environment to `mpirun`, which passes it to the
// ranks; `mpirun` itself calls no MPI function.) The counts cover everything a rank does: both
// modes' warm-up and timed steps and the reductions timed alone.
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum Function {
    ALLREDUCE, IALLREDUCE, WAIT, WAITALL, TEST, BARRIER, ALLGATHER, ALLGATHERV, BCAST,
    ISEND, IRECV, SEND, RECV, WIN_SYNC, WIN_FENCE, FUNCTIONS
};
static const char *names[FUNCTIONS] = {
    "Allreduce", "Iallreduce", "Wait", "Waitall", "Test", "Barrier", "Allgather", "Allgatherv", "Bcast",
    "Isend", "Irecv", "Send", "Recv", "Win_sync", "Win_fence",
};

// Upper bounds of the histogram's buckets, in microseconds (the last bucket is open).
static const double bucketBounds[] = {5, 20, 100, 500, 2000};
#define BUCKETS 6

static double seconds[FUNCTIONS], longest[FUNCTIONS];
static long calls[FUNCTIONS], histogram[FUNCTIONS][BUCKETS];

#define RING_CAPACITY 100000
static struct { int function, count; double seconds; } *ring;
static long ringSize, ringNext;

static double now(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return time.tv_sec + time.tv_nsec * 1e-9;
}

static void record(int function, int count, double start) {
    double elapsed = now() - start;
    seconds[function] += elapsed;
    calls[function] += 1;
    if (elapsed > longest[function]) longest[function] = elapsed;
    int bucket = 0;
    while (bucket < BUCKETS - 1 && elapsed * 1e6 >= bucketBounds[bucket]) bucket += 1;
    histogram[function][bucket] += 1;
    if (ringSize > 0) {
        long slot = ringNext++ % ringSize;
        ring[slot].function = function;
        ring[slot].count = count;
        ring[slot].seconds = elapsed;
    }
}

// Each wrapper times the PMPI call it forwards to. `count` is the element count where the call has one.
#define TIMED(function, count, call) \
    double start = now();            \
    int result = call;               \
    record(function, count, start);  \
    return result;

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided) {
    const char *setting = getenv("MPI_CALL_PROFILE_RING");
    ringSize = setting ? atol(setting) : 0;
    if (ringSize > RING_CAPACITY) ringSize = RING_CAPACITY;
    if (ringSize > 0) ring = calloc((size_t)ringSize, sizeof *ring);
    if (!ring) ringSize = 0;
    return PMPI_Init_thread(argc, argv, required, provided);
}

int MPI_Allreduce(const void *send, void *receive, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
    TIMED(ALLREDUCE, count, PMPI_Allreduce(send, receive, count, type, op, comm))
}
int MPI_Iallreduce(const void *send, void *receive, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm,
                   MPI_Request *request) {
    TIMED(IALLREDUCE, count, PMPI_Iallreduce(send, receive, count, type, op, comm, request))
}
int MPI_Wait(MPI_Request *request, MPI_Status *status) { TIMED(WAIT, 0, PMPI_Wait(request, status)) }
int MPI_Waitall(int n, MPI_Request *requests, MPI_Status *statuses) {
    TIMED(WAITALL, n, PMPI_Waitall(n, requests, statuses))
}
int MPI_Test(MPI_Request *request, int *flag, MPI_Status *status) { TIMED(TEST, 0, PMPI_Test(request, flag, status)) }
int MPI_Barrier(MPI_Comm comm) { TIMED(BARRIER, 0, PMPI_Barrier(comm)) }
int MPI_Allgather(const void *send, int count, MPI_Datatype type, void *receive, int receiveCount,
                  MPI_Datatype receiveType, MPI_Comm comm) {
    TIMED(ALLGATHER, count, PMPI_Allgather(send, count, type, receive, receiveCount, receiveType, comm))
}
int MPI_Allgatherv(const void *send, int count, MPI_Datatype type, void *receive, const int *counts,
                   const int *offsets, MPI_Datatype receiveType, MPI_Comm comm) {
    TIMED(ALLGATHERV, count, PMPI_Allgatherv(send, count, type, receive, counts, offsets, receiveType, comm))
}
int MPI_Bcast(void *buffer, int count, MPI_Datatype type, int root, MPI_Comm comm) {
    TIMED(BCAST, count, PMPI_Bcast(buffer, count, type, root, comm))
}
int MPI_Isend(const void *buffer, int count, MPI_Datatype type, int to, int tag, MPI_Comm comm, MPI_Request *request) {
    TIMED(ISEND, count, PMPI_Isend(buffer, count, type, to, tag, comm, request))
}
int MPI_Irecv(void *buffer, int count, MPI_Datatype type, int from, int tag, MPI_Comm comm, MPI_Request *request) {
    TIMED(IRECV, count, PMPI_Irecv(buffer, count, type, from, tag, comm, request))
}
int MPI_Send(const void *buffer, int count, MPI_Datatype type, int to, int tag, MPI_Comm comm) {
    TIMED(SEND, count, PMPI_Send(buffer, count, type, to, tag, comm))
}
int MPI_Recv(void *buffer, int count, MPI_Datatype type, int from, int tag, MPI_Comm comm, MPI_Status *status) {
    TIMED(RECV, count, PMPI_Recv(buffer, count, type, from, tag, comm, status))
}
int MPI_Win_sync(MPI_Win window) { TIMED(WIN_SYNC, 0, PMPI_Win_sync(window)) }
int MPI_Win_fence(int assertion, MPI_Win window) { TIMED(WIN_FENCE, 0, PMPI_Win_fence(assertion, window)) }

int MPI_Finalize(void) {
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0 && ringSize > 0) {
        long first = ringNext > ringSize ? ringNext - ringSize : 0;
        for (long index = first; index < ringNext; index++) {
            long slot = index % ringSize;
            fprintf(stderr, "[mpi-call-profile rank 0 call %ld] %s count %d %.1f us\n", index,
                    names[ring[slot].function], ring[slot].count, ring[slot].seconds * 1e6);
        }
    }
    for (int function = 0; function < FUNCTIONS; function++) {
        if (calls[function] == 0) continue;
        fprintf(stderr, "[mpi-call-profile rank %d] %-10s calls %7ld total %9.2f ms mean %8.1f us longest %9.1f us"
                        " | <5us %ld <20us %ld <100us %ld <500us %ld <2ms %ld >=2ms %ld\n",
                rank, names[function], calls[function], seconds[function] * 1e3, seconds[function] / calls[function] * 1e6,
                longest[function] * 1e6, histogram[function][0], histogram[function][1], histogram[function][2],
                histogram[function][3], histogram[function][4], histogram[function][5]);
    }
    return PMPI_Finalize();
}
