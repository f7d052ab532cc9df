/* placeholder */
typedef int clcnn_placeholder_cmd_devices;
