/* A tiny stand-in for the AppImage type-2 runtime: the same four sections
 * appimagetool and the real runtime use (update info, signature, key, MD5
 * digest), zero-filled, and a main that only says it ran. The test writes the
 * type-2 magic "AI\x02" into e_ident's padding, as the real build does. */
#include <stdio.h>
__attribute__((used, section(".upd_info"))) static const char upd_info[1024] = {0};
__attribute__((used, section(".sha256_sig"))) static const char sha256_sig[1024] = {0};
__attribute__((used, section(".sig_key"))) static const char sig_key[8192] = {0};
__attribute__((used, section(".digest_md5"))) static const char digest_md5[16] = {0};
int main(void) {
  puts("tiny AppImage runtime");
  return 0;
}
