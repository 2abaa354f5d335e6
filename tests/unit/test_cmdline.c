/*
 * test_cmdline.c - proves which command line wsbridge takes an argv for: its own for
 * every spelling getopt_long accepts of -c, --check, -v, -q, -V, -h (long names, unique
 * prefixes, "=", grouped short flags, a value that looks like an option), websockify's as
 * soon as one argument is anything else; and that websockify's keeps --check, -q and
 * --version for the daemon (before "--" only), refuses -c and --config with one line,
 * and gives the YAML wsargs writes, relative paths joined to the working folder.
 */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "cmdline.h"

#define ARGS_MAX 8

struct form_case {
    const char *argv[ARGS_MAX]; /* NULL-terminated */
    enum cmdline_form want;
};

static const struct form_case form_cases[] = {
    {{NULL}, CMDLINE_DAEMON},
    {{"-c", "/etc/wsbridge.yaml"}, CMDLINE_DAEMON},
    {{"-c/etc/wsbridge.yaml", "--check"}, CMDLINE_DAEMON},
    {{"--config", "w.yaml", "-v"}, CMDLINE_DAEMON},
    {{"--config=w.yaml", "-q"}, CMDLINE_DAEMON},
    {{"--conf", "w.yaml", "--chec"}, CMDLINE_DAEMON}, /* getopt_long's prefixes */
    {{"-vqc", "w.yaml"}, CMDLINE_DAEMON},             /* grouped, 'c' last */
    {{"-vcw.yaml"}, CMDLINE_DAEMON},
    {{"-c", "6080"}, CMDLINE_DAEMON}, /* a value, not an argument */
    {{"-c", "--web"}, CMDLINE_DAEMON},
    {{"--verbose", "--quiet", "--version", "--help"}, CMDLINE_DAEMON},
    {{"-V"}, CMDLINE_DAEMON},
    {{"-h"}, CMDLINE_DAEMON},
    {{"-c"}, CMDLINE_DAEMON}, /* getopt says the value is missing */
    {{"6080", "localhost:5901"}, CMDLINE_WEBSOCKIFY},
    {{"-v", "6080", ":5901"}, CMDLINE_WEBSOCKIFY},
    {{"--web", "/usr/share/novnc", "6080", ":5901"}, CMDLINE_WEBSOCKIFY},
    {{"--print-config"}, CMDLINE_WEBSOCKIFY},
    {{"--traffic"}, CMDLINE_WEBSOCKIFY},
    {{"-c", "w.yaml", "6080"}, CMDLINE_WEBSOCKIFY}, /* main.c refuses the mix */
    {{"-D"}, CMDLINE_WEBSOCKIFY},                   /* refused by wsargs, with why */
    {{"-vD"}, CMDLINE_WEBSOCKIFY},
    {{"--ver"}, CMDLINE_WEBSOCKIFY},       /* ambiguous: verbose, version */
    {{"--c", "x"}, CMDLINE_WEBSOCKIFY},    /* ambiguous: config, check */
    {{"--check=yes"}, CMDLINE_WEBSOCKIFY}, /* no value to --check */
    {{"--"}, CMDLINE_WEBSOCKIFY},
    {{"-"}, CMDLINE_WEBSOCKIFY},
};

static int test_cmdline_argc(const char *const *argv)
{
    int n = 0;

    while (n < ARGS_MAX && argv[n] != NULL)
        n++;
    return n;
}

START_TEST(test_cmdline_form_table)
{
    const struct form_case *t = &form_cases[_i];

    ck_assert_msg(cmdline_form(test_cmdline_argc(t->argv), (char *const *)t->argv) == t->want,
                  "case %d (%s ...): want %s", _i, t->argv[0] ? t->argv[0] : "(none)",
                  t->want == CMDLINE_DAEMON ? "the daemon's" : "websockify's");
}
END_TEST

/* Reads <argv> as websockify's command line: the return value, <c> and <err>. */
static int test_cmdline_read(const char *const *argv, struct cmdline_websockify *c, char *err,
                             size_t err_len)
{
    err[0] = '\0';
    return cmdline_websockify_read(test_cmdline_argc(argv), (char *const *)argv, c, err, err_len);
}

START_TEST(test_cmdline_websockify)
{
    const char *plain[] = {"6080", "localhost:5901", NULL};
    const char *daemon_words[] = {"--check", "-q", "6080", ":5901", NULL};
    const char *quiet_long[] = {"--quiet", "--print-config", "6080", ":5901", NULL};
    const char *version[] = {"6080", "--version", NULL};
    const char *help[] = {"--help", "6080", NULL};
    const char *with_c[] = {"-c", "w.yaml", "6080", ":1", NULL};
    const char *with_config[] = {"6080", ":1", "--config=w.yaml", NULL};
    const char *refused[] = {"--daemon", "6080", ":1", NULL};
    const char *wrapped[] = {"6080", "--", "prog", "--check", NULL};
    const char *web[] = {"--web", "www", "6080", ":1", NULL};
    struct cmdline_websockify c;
    char err[512], cwd[PATH_MAX], want[PATH_MAX + 64];

    ck_assert_int_eq(test_cmdline_read(plain, &c, err, sizeof(err)), 0);
    ck_assert(!c.check && !c.quiet && !c.version && !c.help && !c.print_config);
    ck_assert_ptr_nonnull(c.yaml);
    ck_assert_uint_eq(strlen(c.yaml), c.yaml_len);
    ck_assert_ptr_nonnull(strstr(c.yaml, "  - \"0.0.0.0:6080\"\n"));
    ck_assert_ptr_nonnull(strstr(c.yaml, "    target: \"localhost:5901\"\n"));
    cmdline_websockify_free(&c);
    cmdline_websockify_free(&c); /* twice is fine */

    ck_assert_int_eq(test_cmdline_read(daemon_words, &c, err, sizeof(err)), 0);
    ck_assert(c.check && c.quiet && !c.print_config);
    ck_assert_ptr_nonnull(strstr(c.yaml, "\"127.0.0.1:5901\""));
    cmdline_websockify_free(&c);

    ck_assert_int_eq(test_cmdline_read(quiet_long, &c, err, sizeof(err)), 0);
    ck_assert(c.quiet && c.print_config && !c.check);
    cmdline_websockify_free(&c);

    ck_assert_int_eq(test_cmdline_read(version, &c, err, sizeof(err)), 0);
    ck_assert(c.version);
    ck_assert_ptr_null(c.yaml);
    cmdline_websockify_free(&c);

    ck_assert_int_eq(test_cmdline_read(help, &c, err, sizeof(err)), 0);
    ck_assert(c.help);
    ck_assert_ptr_null(c.yaml);
    cmdline_websockify_free(&c);

    ck_assert_int_eq(test_cmdline_read(with_c, &c, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "-c: a route file and websockify's command line do not mix; give -c "
                          "FILE alone, or turn the command line into a file with --print-config");
    cmdline_websockify_free(&c);
    ck_assert_int_eq(test_cmdline_read(with_config, &c, err, sizeof(err)), -1);
    ck_assert_msg(strncmp(err, "--config: a route file and websockify's", 39) == 0, "%s", err);
    cmdline_websockify_free(&c);

    ck_assert_int_eq(test_cmdline_read(refused, &c, err, sizeof(err)), -1);
    ck_assert_msg(strncmp(err, "--daemon: wsbridge stays in the foreground", 42) == 0, "%s", err);
    ck_assert_ptr_null(c.yaml);
    cmdline_websockify_free(&c);

    /* after "--" every word is the wrapped command's, --check too: refused as wrap mode */
    ck_assert_int_eq(test_cmdline_read(wrapped, &c, err, sizeof(err)), -1);
    ck_assert(!c.check);
    ck_assert_msg(strncmp(err, "-- COMMAND: ", 12) == 0, "%s", err);
    cmdline_websockify_free(&c);

    /* relative paths are joined to the working folder */
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
    ck_assert_int_eq(test_cmdline_read(web, &c, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "web_root: \"%s/www\"\n", strcmp(cwd, "/") == 0 ? "" : cwd);
    ck_assert_msg(strstr(c.yaml, want) != NULL, "%s", c.yaml);
    cmdline_websockify_free(&c);
}
END_TEST

static Suite *test_cmdline_suite(void)
{
    Suite *s = suite_create("cmdline");
    TCase *tc = tcase_create("cmdline");

    tcase_add_loop_test(tc, test_cmdline_form_table, 0,
                        (int)(sizeof(form_cases) / sizeof(form_cases[0])));
    tcase_add_test(tc, test_cmdline_websockify);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_cmdline_suite)
