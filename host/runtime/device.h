/* Device discovery and the selection rule, shared by clcnn_list_devices and
 * context creation. */
#ifndef CLCNN_DEVICE_H
#define CLCNN_DEVICE_H

#include "runtime.h"

#define CLCNN__MAX_DEVICES 64

typedef struct clcnn__device_list {
    size_t count;
    cl_platform_id platforms[CLCNN__MAX_DEVICES];
    cl_device_id devices[CLCNN__MAX_DEVICES];
    clcnn_device_info info[CLCNN__MAX_DEVICES];
} clcnn__device_list;

/* Fills list with every device; CLCNN_ERR_NO_DEVICE (with a message) if none. */
clcnn_status clcnn__enumerate(clcnn__device_list *list, char *error, size_t error_size);

/* Applies the selector (NULL: $CLCNN_DEVICE; empty: default rule). */
clcnn_status clcnn__select(const clcnn__device_list *list, const char *selector, size_t *chosen,
                           char *error, size_t error_size);

/* Fills info for a device that may not come from enumeration (interop). */
void clcnn__describe_device(cl_device_id dev, clcnn_device_info *info);

#endif /* CLCNN_DEVICE_H */
