// libFuzzer's entry for programs that bring their own main (LLVM's FuzzerInterface.h).
// SwiftPM links an executable with main aliased to <Target>_main, so each fuzz target defines
// that and hands control to libFuzzer here.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
