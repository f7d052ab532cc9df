#ifndef CLCNN_OPTIM_REF_H
#define CLCNN_OPTIM_REF_H
#endif
