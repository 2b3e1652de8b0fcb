/* The corpus's main program: code in .text, a string in .rodata, an
 * initialised global in .data. The test patches each of them. */
#include <stdio.h>

const char greeting[] = "hello from the rebuild corpus";
int counter = 0x01234567;

static int work(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += i * counter;
  return s;
}

int main(int argc, char **argv) {
  (void)argv;
  printf("%s %d\n", greeting, work(argc + 10));
  return 0;
}
