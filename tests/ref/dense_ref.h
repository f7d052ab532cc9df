#ifndef CLCNN_DENSE_REF_H
#define CLCNN_DENSE_REF_H
#endif
