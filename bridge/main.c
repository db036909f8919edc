#include <string.h>
#include "eval.h"
int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "eval") == 0)
		return br_eval_main(argc - 1, argv + 1);
	return 2;
}
