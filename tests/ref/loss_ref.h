#ifndef CLCNN_LOSS_REF_H
#define CLCNN_LOSS_REF_H
#endif
