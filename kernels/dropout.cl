/*
 * Inverted dropout with a counter-based mask: element i of a tensor is kept
 * when the top 32 bits of splitmix64's output for (seed, i) are at least a
 * threshold, so the mask depends on nothing but the seed and the index (no
 * state, no stored mask, the same on every device). The backward pass is
 * the same kernel on dy.
 *
 * -D options: none.
 *
 * dropout_apply: one work-item per element (flat over the tensor):
 *   z = seed + (i + 1) * 0x9E3779B97F4A7C15, then splitmix64's finaliser
 *   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9,
 *   z = (z ^ (z >> 27)) * 0x94D049BB133111EB, z ^= z >> 31 (mod 2^64);
 *   kept when (z >> 32) >= threshold = ceil(p * 2^32), that is when
 *   (z >> 32) / 2^32 >= p (for p = 1, threshold 2^32 keeps nothing);
 *   y = kept ? x * scale : 0 with scale = 1 / (1 - p) (0 for p = 1).
 *   threshold 0 skips the hash (every element kept: p 0, or inference with
 *   scale 1). Each work-item reads its element before writing it, so y may
 *   be x.
 *   args: x, y, seed, threshold, scale, n (elements).
 */

__kernel void dropout_apply(__global const float *x, int x_off, __global float *y, int y_off,
                            ulong seed, ulong threshold, float scale, int n)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    const float v = x[x_off + i];
    if (threshold == 0) {
        y[y_off + i] = v * scale;
        return;
    }
    ulong z = seed + ((ulong)i + 1) * 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    z ^= z >> 31;
    y[y_off + i] = (z >> 32) >= threshold ? v * scale : 0.0f;
}
