/*
 * Element-wise activations (ReLU, leaky ReLU, tanh, sigmoid), forward and
 * backward, over the flat element range of a tensor.
 *
 * -D options: none. Each activation is its own kernel, so one program
 * serves all of them and no kernel branches on the activation.
 *
 * act_<name>_fwd: y = act(x).
 *   args: x, y, alpha (leaky-ReLU slope; unused otherwise), n (elements).
 * act_<name>_bwd: dx = dy * act'(x) (ReLU family, from x) or from y (tanh,
 *   sigmoid, whose derivatives are cheapest in terms of the output).
 *   args: x, y, dy, dx, alpha, n. The operand an activation does not use
 *   may be any buffer; its loads are dead and removed by the compiler.
 *
 * Work-item i < n/4 handles elements 4i..4i+3 as a float4 (vload4 needs
 * only float alignment, so any tensor offset works); work-item n/4 handles
 * the scalar tail of n % 4 elements. Each work-item reads its elements
 * before writing them, so y may be x and dx may be dy (in-place).
 */

/* Written once for float and float4: the ?: operator selects per lane. */
#define RELU_F(v, alpha) ((v) > 0.0f ? (v) : 0.0f)
#define LEAKY_RELU_F(v, alpha) ((v) > 0.0f ? (v) : (alpha) * (v))
#define TANH_F(v, alpha) tanh(v)
#define SIGMOID_F(v, alpha) (1.0f / (1.0f + exp(-(v))))

#define RELU_B(x, y, g, alpha) ((x) > 0.0f ? (g) : 0.0f)
#define LEAKY_RELU_B(x, y, g, alpha) ((x) > 0.0f ? (g) : (alpha) * (g))
#define TANH_B(x, y, g, alpha) ((g) * (1.0f - (y) * (y)))
#define SIGMOID_B(x, y, g, alpha) ((g) * (y) * (1.0f - (y)))

#define ACT_KERNELS(name, FWD, BWD)                                                            \
    __kernel void act_##name##_fwd(__global const float *x, int x_off, __global float *y,      \
                                   int y_off, float alpha, int n)                              \
    {                                                                                          \
        const int i = get_global_id(0);                                                        \
        const int n4 = n / 4;                                                                  \
        x += x_off;                                                                            \
        y += y_off;                                                                            \
        if (i < n4) {                                                                          \
            float4 v = vload4(i, x);                                                           \
            vstore4(FWD(v, alpha), i, y);                                                      \
        } else if (i == n4) {                                                                  \
            for (int e = 4 * n4; e < n; e++) {                                                 \
                float v = x[e];                                                                \
                y[e] = FWD(v, alpha);                                                          \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    __kernel void act_##name##_bwd(__global const float *x, int x_off, __global const float *y, \
                                   int y_off, __global const float *dy, int dy_off,            \
                                   __global float *dx, int dx_off, float alpha, int n)         \
    {                                                                                          \
        const int i = get_global_id(0);                                                        \
        const int n4 = n / 4;                                                                  \
        x += x_off;                                                                            \
        y += y_off;                                                                            \
        dy += dy_off;                                                                          \
        dx += dx_off;                                                                          \
        if (i < n4) {                                                                          \
            float4 xv = vload4(i, x), yv = vload4(i, y), g = vload4(i, dy);                    \
            vstore4(BWD(xv, yv, g, alpha), i, dx);                                             \
        } else if (i == n4) {                                                                  \
            for (int e = 4 * n4; e < n; e++) {                                                 \
                float xv = x[e], yv = y[e], g = dy[e];                                         \
                dx[e] = BWD(xv, yv, g, alpha);                                                 \
            }                                                                                  \
        }                                                                                      \
    }

ACT_KERNELS(relu, RELU_F, RELU_B)
ACT_KERNELS(leaky_relu, LEAKY_RELU_F, LEAKY_RELU_B)
ACT_KERNELS(tanh, TANH_F, TANH_B)
ACT_KERNELS(sigmoid, SIGMOID_F, SIGMOID_B)
