/* A build timestamp: __DATE__ and __TIME__ follow SOURCE_DATE_EPOCH. */
#include <stdio.h>

const char stamp[] = "built " __DATE__ " " __TIME__;

int main(void) {
  puts(stamp);
  return 0;
}
