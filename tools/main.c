#include <stdio.h>
#include "clcnn.h"
int main(void) { printf("clcnn %s\n", clcnn_version()); return 0; }
