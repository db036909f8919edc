/*
 * cu_run.h - the shared main() body of the CUnit unit-test executables.
 *
 * Each tests/unit/<area>/test_<file>.c defines its tests in a CU_TestInfo
 * array and calls pc_cu_run from main. The process exits non-zero when any
 * assertion failed, so ctest sees failures.
 */
#ifndef PRECIS_CU_RUN_H
#define PRECIS_CU_RUN_H

#include <CUnit/CUnit.h>

/*
 * pc_cu_run - run one suite named suite_name made of tests (terminated by
 * CU_TEST_INFO_NULL) with CUnit's basic verbose runner. Returns the process
 * exit code: 0 when every test passed, 1 otherwise (including registry
 * errors).
 */
int pc_cu_run(const char *suite_name, CU_TestInfo *tests);

#endif
