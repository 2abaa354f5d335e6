/*
 * check_main.h - the main() every Check unit program shares: run one suite, print
 * Check's normal report, exit 0 if every test passed and 1 if one failed (automake's
 * codes). A program with nothing to set up ends with CHECK_MAIN(its_suite); one that must
 * prepare or clean up around the run calls check_main_run itself.
 */
#ifndef WSB_CHECK_MAIN_H
#define WSB_CHECK_MAIN_H

#include <stdlib.h>

#include <check.h>

/* Runs <s> (the runner takes it over and frees it); returns EXIT_SUCCESS or EXIT_FAILURE. */
static inline int check_main_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Defines main() to run the suite that <suite_fn>() builds. */
#define CHECK_MAIN(suite_fn)                                                                       \
    int main(void)                                                                                 \
    {                                                                                              \
        return check_main_run(suite_fn());                                                         \
    }

#endif
