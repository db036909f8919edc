/*
 * cu_run.c - runs one CUnit suite and turns its result into an exit code.
 * Linked into every unit-test executable (see tests/unit/CMakeLists.txt).
 */
#include <CUnit/Basic.h>

#include "cu_run.h"

int pc_cu_run(const char *suite_name, CU_TestInfo *tests)
{
	CU_SuiteInfo suites[] = {
	    {suite_name, NULL, NULL, NULL, NULL, tests},
	    CU_SUITE_INFO_NULL,
	};
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_number_of_tests_run() == 0)
		failed = 1;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
