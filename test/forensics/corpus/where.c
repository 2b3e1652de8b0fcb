/* The source path: __FILE__ is the path as given to the compiler. */
#include <stdio.h>

int main(void) {
  puts(__FILE__);
  return 0;
}
