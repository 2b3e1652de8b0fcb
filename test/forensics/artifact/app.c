/* The AppImage's main program (AppRun); APP_MESSAGE makes the "changed" variant. */
#include <stdio.h>
#ifndef APP_MESSAGE
#define APP_MESSAGE "hello from the AppDir"
#endif
int main(void) {
  puts(APP_MESSAGE);
  return 0;
}
