/*
 * The eight matrix products of one BN-MLP (784-256-256-10) training step at batch 128, timed
 * one after another, for comparing BLAS libraries and thread counts outside Swift.
 * Prints the mean time of each product, the total, its GFLOP/s, and an FNV-1a hash of every
 * output's bits (equal hashes: the library gives the same bits at both thread counts).
 *
 * OpenBLAS (the project's library):
 *   cc -O2 -o mlp_products_openblas mlp_products.c \
 *      -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas
 *   ./mlp_products_openblas 2000 1; ./mlp_products_openblas 2000 2
 * BLIS (Debian's libblis-dev, OpenMP build; measured at stop 22, not linked by the project):
 *   cc -O2 -DUSE_BLIS -o mlp_products_blis mlp_products.c \
 *      -I/usr/include/x86_64-linux-gnu/blis-openmp \
 *      /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4 -fopenmp
 *   ./mlp_products_blis 2000 1; ./mlp_products_blis 2000 2
 * Arguments: repetitions (default 2000, after 50 untimed), threads (default 1).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
#ifdef USE_BLIS
#include <blis.h>
#endif

enum { rows = 128, warmUp = 50 };

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Values in [-0.5, 0.5) from a linear congruential generator: the same operands every run. */
static float *filled(size_t count, unsigned seed) {
    float *values = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        values[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    return values;
}

static void product(int transA, int transB, int m, int n, int k,
                    const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

int main(int argc, char **argv) {
    int repetitions = argc > 1 ? atoi(argv[1]) : 2000;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
#ifdef USE_BLIS
    bli_thread_set_num_threads(threads);
#else
    openblas_set_num_threads(threads);
#endif
    float *x = filled(rows * 784, 1), *w1 = filled(784 * 256, 2), *w2 = filled(256 * 256, 3), *w3 = filled(256 * 10, 4);
    float *y1 = filled(rows * 256, 5), *y2 = filled(rows * 256, 6), *y3 = filled(rows * 10, 7);
    float *dy3 = filled(rows * 10, 8), *dy2 = filled(rows * 256, 9), *dy1 = filled(rows * 256, 10);
    float *dw3 = filled(256 * 10, 11), *dx3 = filled(rows * 256, 12), *dw2 = filled(256 * 256, 13);
    float *dx2 = filled(rows * 256, 14), *dw1 = filled(784 * 256, 15);
    const char *names[8] = {"forward 1 (128x784 . 784x256)", "forward 2", "forward 3", "dW3", "dX3",
                            "dW2", "dX2", "dW1 (784x128 . 128x256)"};
    double total[8] = {0};
    for (int r = 0; r < repetitions + warmUp; r++) {
        double times[9];
        times[0] = seconds();
        product(0, 0, rows, 256, 784, x, 784, w1, 256, y1, 256);   times[1] = seconds();
        product(0, 0, rows, 256, 256, y1, 256, w2, 256, y2, 256);  times[2] = seconds();
        product(0, 0, rows, 10, 256, y2, 256, w3, 10, y3, 10);     times[3] = seconds();
        product(1, 0, 256, 10, rows, y2, 256, dy3, 10, dw3, 10);   times[4] = seconds();
        product(0, 1, rows, 256, 10, dy3, 10, w3, 10, dx3, 256);   times[5] = seconds();
        product(1, 0, 256, 256, rows, y1, 256, dy2, 256, dw2, 256); times[6] = seconds();
        product(0, 1, rows, 256, 256, dy2, 256, w2, 256, dx2, 256); times[7] = seconds();
        product(1, 0, 784, 256, rows, x, 784, dy1, 256, dw1, 256); times[8] = seconds();
        if (r >= warmUp)
            for (int i = 0; i < 8; i++) total[i] += times[i + 1] - times[i];
    }
    double sum = 0;
    for (int i = 0; i < 8; i++) {
        sum += total[i];
        printf("%-32s %8.1f us\n", names[i], total[i] / repetitions * 1e6);
    }
    double flop = 2.0 * rows * (784 * 256 + 256 * 256 + 256 * 10) * 3;
    printf("%-32s %8.1f us  %.1f GFLOP/s\n", "all eight", sum / repetitions * 1e6, flop / (sum / repetitions) / 1e9);
    uint64_t hash = 1469598103934665603ull;
    const float *outputs[8] = {y1, y2, y3, dw3, dx3, dw2, dx2, dw1};
    const size_t counts[8] = {rows * 256, rows * 256, rows * 10, 2560, rows * 256, 65536, rows * 256, 784 * 256};
    for (int i = 0; i < 8; i++) {
        const unsigned char *bytes = (const unsigned char *)outputs[i];
        for (size_t j = 0; j < counts[i] * sizeof(float); j++) { hash ^= bytes[j]; hash *= 1099511628211ull; }
    }
    printf("output bits hash %016llx\n", (unsigned long long)hash);
    return 0;
}
