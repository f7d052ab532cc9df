#ifndef CLCNN_ACT_REF_H
#define CLCNN_ACT_REF_H
#endif
