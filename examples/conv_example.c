/*
 * Embedding clcnn: one 3x3 convolution of a 6x5 image through the public API.
 * Build: cc -std=c11 conv_example.c $(pkg-config --cflags --libs clcnn)
 */
#include <clcnn.h>
#include <stdio.h>

#define CHECK(call)                                                                            \
    if ((st = (call)) != CLCNN_OK) {                                                           \
        fprintf(stderr, "conv_example: %s: %s: %s\n", #call, clcnn_status_name(st),            \
                clcnn_last_error(ctx));                                                        \
        goto done;                                                                             \
    }

int main(void)
{
    float x[6 * 5], w[9] = {0.25f, 0.5f, 0.25f, 0, 1, 0, -0.25f, -0.5f, -0.25f}, y[6 * 5];
    for (int i = 0; i < 6 * 5; i++)
        x[i] = (float)(i % 7) * 0.5f - 1.0f;
    char err[512];
    clcnn_context *ctx = NULL;
    clcnn_status st = clcnn_context_create(NULL, &ctx, err, sizeof err);
    if (st != CLCNN_OK) {
        fprintf(stderr, "conv_example: no context: %s: %s\n", clcnn_status_name(st), err);
        return 1;
    }
    clcnn_tensor *tx = NULL, *tw = NULL, *ty = NULL;
    clcnn_conv2d_params p = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    int xs[4] = {1, 1, 6, 5}, ws[4] = {1, 1, 3, 3}, ys[4];
    if ((st = clcnn_conv2d_output_shape(xs, ws, &p, ys, err, sizeof err)) != CLCNN_OK) {
        fprintf(stderr, "conv_example: %s\n", err);
        goto done;
    }
    CHECK(clcnn_tensor_create(ctx, xs[0], xs[1], xs[2], xs[3], &tx));
    CHECK(clcnn_tensor_create(ctx, ws[0], ws[1], ws[2], ws[3], &tw));
    CHECK(clcnn_tensor_create(ctx, ys[0], ys[1], ys[2], ys[3], &ty));
    CHECK(clcnn_tensor_write(tx, x, 6 * 5));
    CHECK(clcnn_tensor_write(tw, w, 9));
    CHECK(clcnn_conv2d_forward(ctx, tx, tw, NULL, ty, &p));
    CHECK(clcnn_tensor_read(ty, y, 6 * 5));
    printf("y (%d, %d, %d, %d):\n", ys[0], ys[1], ys[2], ys[3]);
    for (int h = 0; h < ys[2]; h++) {
        for (int c = 0; c < ys[3]; c++)
            printf(" %8.4f", y[h * ys[3] + c]);
        printf("\n");
    }
done:
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(ty);
    clcnn_context_destroy(ctx);
    return st == CLCNN_OK ? 0 : 1;
}
