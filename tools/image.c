/* placeholder */
typedef int clcnn_placeholder_image;
