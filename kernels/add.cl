/*
 * Element-wise add (the join of a residual connection), its backward copy
 * and the accumulation y += alpha * x, over the flat element range of a
 * tensor.
 *
 * -D options: none.
 *
 * add_fwd: y = a + b.  args: a, b, y, n (elements).
 * add_bwd: da = dy where write_a, db = dy where write_b (an unused output
 *   may be any buffer).  args: dy, da, db, write_a, write_b, n.
 * add_axpy: y += alpha * x.  args: alpha, x, y, n.
 *
 * As in act.cl, work-item i < n/4 handles elements 4i..4i+3 as a float4
 * (vload4 needs only float alignment, so any tensor offset works) and
 * work-item n/4 the scalar tail. Each work-item reads its elements before
 * writing them, so y may be a or b (in place).
 */

__kernel void add_fwd(__global const float *a, int a_off, __global const float *b, int b_off,
                      __global float *y, int y_off, int n)
{
    const int i = get_global_id(0);
    const int n4 = n / 4;
    a += a_off;
    b += b_off;
    y += y_off;
    if (i < n4)
        vstore4(vload4(i, a) + vload4(i, b), i, y);
    else if (i == n4)
        for (int e = 4 * n4; e < n; e++)
            y[e] = a[e] + b[e];
}

__kernel void add_bwd(__global const float *dy, int dy_off, __global float *da, int da_off,
                      __global float *db, int db_off, int write_a, int write_b, int n)
{
    const int i = get_global_id(0);
    const int n4 = n / 4;
    dy += dy_off;
    da += da_off;
    db += db_off;
    if (i < n4) {
        const float4 g = vload4(i, dy);
        if (write_a)
            vstore4(g, i, da);
        if (write_b)
            vstore4(g, i, db);
    } else if (i == n4) {
        for (int e = 4 * n4; e < n; e++) {
            const float g = dy[e];
            if (write_a)
                da[e] = g;
            if (write_b)
                db[e] = g;
        }
    }
}

__kernel void add_axpy(float alpha, __global const float *x, int x_off, __global float *y,
                       int y_off, int n)
{
    const int i = get_global_id(0);
    const int n4 = n / 4;
    x += x_off;
    y += y_off;
    if (i < n4)
        vstore4(fma((float4)(alpha), vload4(i, x), vload4(i, y)), i, y);
    else if (i == n4)
        for (int e = 4 * n4; e < n; e++)
            y[e] = fma(alpha, x[e], y[e]);
}
