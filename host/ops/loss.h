/* Internal declarations of the loss op (host/ops/loss.c), shared with its tests. */
#ifndef CLCNN_OPS_LOSS_H
#define CLCNN_OPS_LOSS_H

#include <stddef.h>

#include "clcnn.h"

/*
 * Pure shape check of clcnn_softmax_cross_entropy: logits (N,K,1,1), labels
 * with N elements, dlogits (NULL: absent) the shape of logits, loss (NULL:
 * absent) one element. Returns CLCNN_ERR_INVALID_ARGUMENT for a NULL required
 * shape, CLCNN_ERR_SHAPE for shapes that do not fit; message (may be NULL)
 * receives the reason.
 */
clcnn_status clcnn__softmax_xent_check(const int logits[4], const int labels[4],
                                       const int dlogits[4], const int loss[4], char *message,
                                       size_t message_size);

/*
 * clcnn_softmax_cross_entropy after validation, with the launch geometry
 * given: one group of wg work-items, team work-items per sample (powers of
 * two, team <= wg <= the device's limit). The op picks them per device; tests
 * run every geometry on any device.
 */
clcnn_status clcnn__softmax_xent_launch(clcnn_context *ctx, const clcnn_tensor *logits,
                                        const clcnn_tensor *labels, clcnn_tensor *dlogits,
                                        clcnn_tensor *loss, size_t wg, size_t team);

#endif /* CLCNN_OPS_LOSS_H */
