#ifndef CLCNN_CONV2D_REF_H
#define CLCNN_CONV2D_REF_H
#endif
