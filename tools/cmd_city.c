#include "tools/cli.h"
int cmd_city(int argc, char **argv) { (void)argc; cli_error(argv[0], "not available yet"); return 1; }
