#include "CConvolutionKernels.h"
#include "CVectorKernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define BW_CONV_X86_64 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define BW_CONV_X86_64 0
#endif

// Every product and sum below rounds as written: the fused multiply-adds are explicit.
#pragma STDC FP_CONTRACT OFF

/// The most taps a patch row may have here (one accumulator register, or stack slot, per tap).
enum { max_depth = 32 };

#if BW_CONV_X86_64
static int cpu_has_avx2_fma_uncached(void) {
    if (!bw_cpu_has_avx()) return 0;   // AVX and the OS's saving of its registers first
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 12))) return 0;   // FMA
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 5)) != 0;   // AVX2
}
#endif

int bw_cpu_has_avx2_fma(void) {
#if BW_CONV_X86_64
    static int cached = -1;   // CPUID traps to the hypervisor in a VM; threads racing here store the same value
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known < 0) {
        known = cpu_has_avx2_fma_uncached();
        __atomic_store_n(&cached, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
}

#if BW_CONV_X86_64
/// Rows per block of the forward pass: its output rows (64 · filters floats) stay in L1 while
/// each group of 8 filters writes its columns.
enum { forward_block = 64 };

// `depth` is a compile-time constant where the callers below pass one (9: a grey 3x3
// window), so the tap loops unroll and the accumulators live in registers.
__attribute__((target("avx2,fma"), always_inline))
static inline void forward_rows(const float *patches, ptrdiff_t first, ptrdiff_t end, ptrdiff_t depth, const float *kernel,
                                const float *bias, ptrdiff_t filters, float *out) {
    for (ptrdiff_t f = 0; f < filters; f += 8) {
        __m256 w[max_depth];
        for (ptrdiff_t t = 0; t < depth; t++) w[t] = _mm256_loadu_ps(kernel + t * filters + f);
        const __m256 b = _mm256_loadu_ps(bias + f);
        ptrdiff_t r = first;
        for (; r + 4 <= end; r += 4) {
            const float *q = patches + r * depth;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
            for (ptrdiff_t t = 0; t < depth; t++) {
                a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + t), w[t], a0);
                a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + depth + t), w[t], a1);
                a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + 2 * depth + t), w[t], a2);
                a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(q + 3 * depth + t), w[t], a3);
            }
            float *o = out + r * filters + f;
            _mm256_storeu_ps(o, _mm256_add_ps(b, a0));
            _mm256_storeu_ps(o + filters, _mm256_add_ps(b, a1));
            _mm256_storeu_ps(o + 2 * filters, _mm256_add_ps(b, a2));
            _mm256_storeu_ps(o + 3 * filters, _mm256_add_ps(b, a3));
        }
        for (; r < end; r++) {
            const float *q = patches + r * depth;
            __m256 a = _mm256_setzero_ps();
            for (ptrdiff_t t = 0; t < depth; t++) a = _mm256_fmadd_ps(_mm256_broadcast_ss(q + t), w[t], a);
            _mm256_storeu_ps(out + r * filters + f, _mm256_add_ps(b, a));
        }
    }
}

__attribute__((target("avx2,fma")))
static void forward_avx2(const float *patches, ptrdiff_t rows, ptrdiff_t depth, const float *kernel, const float *bias,
                         ptrdiff_t filters, float *out) {
    for (ptrdiff_t first = 0; first < rows; first += forward_block) {
        ptrdiff_t end = first + forward_block < rows ? first + forward_block : rows;
        if (depth == 9) forward_rows(patches, first, end, 9, kernel, bias, filters, out);
        else forward_rows(patches, first, end, depth, kernel, bias, filters, out);
    }
}

/// One block's FMA chains for 8 filters, added onto the gradient's running sums.
__attribute__((target("avx2,fma"), always_inline))
static inline void gradient_block(const float *patches, const float *upstream, ptrdiff_t first, ptrdiff_t end,
                                  ptrdiff_t depth, ptrdiff_t filters, ptrdiff_t f, float *gradient) {
    __m256 acc[max_depth];
    for (ptrdiff_t t = 0; t < depth; t++) acc[t] = _mm256_setzero_ps();
    for (ptrdiff_t r = first; r < end; r++) {
        const __m256 d = _mm256_loadu_ps(upstream + r * filters + f);
        const float *q = patches + r * depth;
        for (ptrdiff_t t = 0; t < depth; t++) acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(q + t), d, acc[t]);
    }
    for (ptrdiff_t t = 0; t < depth; t++) {
        float *g = gradient + t * filters + f;
        _mm256_storeu_ps(g, _mm256_add_ps(_mm256_loadu_ps(g), acc[t]));
    }
}

__attribute__((target("avx2,fma")))
static void gradient_avx2(const float *patches, const float *upstream, ptrdiff_t rows, ptrdiff_t depth, ptrdiff_t filters,
                          ptrdiff_t first_filter, ptrdiff_t filter_count, ptrdiff_t block, ptrdiff_t unroll, float *gradient) {
    for (ptrdiff_t t = 0; t < depth; t++) {
        for (ptrdiff_t f = first_filter; f < first_filter + filter_count; f++) gradient[t * filters + f] = 0;
    }
    ptrdiff_t first = 0;
    while (first < rows) {
        // The own sgemm's blocks (bw_own_sgemm_block_length): whole blocks while two remain, then the rest in two halves.
        ptrdiff_t length = rows - first;
        if (length >= 2 * block) length = block;
        else if (length > block) length = (length / 2 + unroll - 1) / unroll * unroll;
        for (ptrdiff_t f = first_filter; f < first_filter + filter_count; f += 8) {
            if (depth == 9) gradient_block(patches, upstream, first, first + length, 9, filters, f, gradient);
            else gradient_block(patches, upstream, first, first + length, depth, filters, f, gradient);
        }
        first += length;
    }
}
#endif

int bw_short_patch_convolution(const float *patches, ptrdiff_t rows, ptrdiff_t depth, const float *kernel,
                               const float *bias, ptrdiff_t filters, float *out) {
#if BW_CONV_X86_64
    if (bw_cpu_has_avx2_fma() && depth >= 1 && depth <= max_depth && filters >= 8 && filters % 8 == 0 && rows >= 0) {
        forward_avx2(patches, rows, depth, kernel, bias, filters, out);
        return 1;
    }
#endif
    (void)patches; (void)rows; (void)depth; (void)kernel; (void)bias; (void)filters; (void)out;
    return 0;
}

int bw_short_patch_kernel_gradient(const float *patches, const float *upstream, ptrdiff_t rows, ptrdiff_t depth,
                                   ptrdiff_t filters, ptrdiff_t first_filter, ptrdiff_t filter_count,
                                   ptrdiff_t block, ptrdiff_t unroll, float *gradient) {
#if BW_CONV_X86_64
    if (bw_cpu_has_avx2_fma() && depth >= 1 && depth <= max_depth && filter_count >= 8 && filter_count % 8 == 0
        && first_filter >= 0 && first_filter + filter_count <= filters && rows >= 0 && block >= 1 && unroll >= 1) {
        gradient_avx2(patches, upstream, rows, depth, filters, first_filter, filter_count, block, unroll, gradient);
        return 1;
    }
#endif
    (void)patches; (void)upstream; (void)rows; (void)depth; (void)filters; (void)first_filter; (void)filter_count;
    (void)block; (void)unroll; (void)gradient;
    return 0;
}
