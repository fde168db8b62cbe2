#include <rustimg.h>
#include <stdio.h>
int main(void){ printf("%s\n", rustimg_version()); return 0; }
