#ifndef CLCNN_POOL_REF_H
#define CLCNN_POOL_REF_H
#endif
