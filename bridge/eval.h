/*
 * eval.h - `precis-bridge eval`: offline evaluation of the recommender
 * on a ratings file, so precis can be compared with other libraries on
 * the same data and the same splits.
 */
#ifndef BRIDGE_EVAL_H
#define BRIDGE_EVAL_H

/*
 * br_eval_main - run the subcommand with argv[0] == "eval". Prints the
 * results on stdout, errors on stderr. Returns the process exit code: 0
 * done, 1 a file could not be read, 2 bad arguments or a malformed file.
 */
int br_eval_main(int argc, char **argv);

#endif
