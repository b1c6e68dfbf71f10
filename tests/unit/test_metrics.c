/*
 * test_metrics.c - common/metrics: the text exposition (format 0.0.4) byte
 * for byte, label escaping, the shared map summed over processes (a counter
 * kept after its process exited, a dead process's gauge left out and reset
 * when its cell is taken again), the registry's bound (metrics_series_limit,
 * exactly), metrics_listen's
 * check.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "util.h"

static const double test_bounds[] = { 0.1, 1 };

static const struct metrics_family test_fams[] = {
	METRICS_FAMILIES_COMMON,
	{ "t_results_total", "Results\\by \"kind\".\nSecond line.", METRICS_COUNTER, NULL, 0 },
	{ "t_latency_seconds", "Latency.", METRICS_HISTOGRAM, test_bounds, 2 },
	{ "t_unused_total", "Never has a series.", METRICS_COUNTER, NULL, 0 },
};
#define T_RESULTS	(METRICS_COMMON_COUNT)
#define T_LATENCY	(METRICS_COMMON_COUNT + 1)
#define T_UNUSED	(METRICS_COMMON_COUNT + 2)
#define T_NFAMS		(METRICS_COMMON_COUNT + 3)

START_TEST(text_writes_help_type_and_cumulative_buckets)
{
	const uint64_t c1[] = { 7 }, c2[] = { 0 };
	const uint64_t g[] = { (uint64_t)-3 };
	/* 2 at or below 0.1, 1 at or below 1, 4 above; sum 12.5 s */
	const uint64_t h[] = { 2, 1, 4, 12500000 };
	const struct metrics_sample s[] = {
		{ T_RESULTS, "kind=\"pass\"", c1 },
		{ METRICS_SESSIONS, "", g },
		{ T_LATENCY, "", h },
		{ T_RESULTS, "kind=\"fail\"", c2 },
	};
	struct buf out;

	buf_init(&out, 65536);
	ck_assert_int_eq(metrics_text_write(test_fams, T_NFAMS, s, 4, &out), 0);
	ck_assert_str_eq(buf_cstr(&out),
	    "# HELP mailauth_sessions_in_flight Client connections being served now.\n"
	    "# TYPE mailauth_sessions_in_flight gauge\n"
	    "mailauth_sessions_in_flight -3\n"
	    "# HELP t_results_total Results\\\\by \"kind\".\\nSecond line.\n"
	    "# TYPE t_results_total counter\n"
	    "t_results_total{kind=\"pass\"} 7\n"
	    "t_results_total{kind=\"fail\"} 0\n"
	    "# HELP t_latency_seconds Latency.\n"
	    "# TYPE t_latency_seconds histogram\n"
	    "t_latency_seconds_bucket{le=\"0.1\"} 2\n"
	    "t_latency_seconds_bucket{le=\"1\"} 3\n"
	    "t_latency_seconds_bucket{le=\"+Inf\"} 7\n"
	    "t_latency_seconds_sum 12.500000\n"
	    "t_latency_seconds_count 7\n");
	buf_clear(&out);
}
END_TEST

START_TEST(text_histogram_labels_come_before_le)
{
	const uint64_t h[] = { 1, 0, 0, 50000 };
	const struct metrics_sample s[] = { { T_LATENCY, "op=\"x\"", h } };
	struct buf out;

	buf_init(&out, 65536);
	ck_assert_int_eq(metrics_text_write(test_fams, T_NFAMS, s, 1, &out), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "t_latency_seconds_bucket{op=\"x\",le=\"0.1\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "t_latency_seconds_sum{op=\"x\"} 0.050000\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "t_latency_seconds_count{op=\"x\"} 1\n"));
	buf_clear(&out);
}
END_TEST

START_TEST(text_reports_a_full_buffer)
{
	const uint64_t c[] = { 1 };
	const struct metrics_sample s[] = { { T_RESULTS, "", c } };
	struct buf out;

	buf_init(&out, 40);
	ck_assert_int_eq(metrics_text_write(test_fams, T_NFAMS, s, 1, &out), -1);
	buf_clear(&out);
}
END_TEST

START_TEST(label_values_are_escaped)
{
	struct buf b;

	buf_init(&b, 256);
	metrics_label_append(&b, "domain", "a\"b\\c\nd");
	metrics_label_append(&b, "selector", "s1");
	ck_assert_str_eq(buf_cstr(&b), "domain=\"a\\\"b\\\\c\\nd\",selector=\"s1\"");
	buf_clear(&b);
}
END_TEST

/* test_child - fork a process that attaches, counts, and exits (or waits) */
static pid_t
test_child(struct metrics *m, int id, int gauge, bool stay)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;
	if (metrics_attach(m) < 0)
		_exit(1);
	/* the counter last: the parent polls for it, then reads the others */
	metrics_gauge_add(m, metrics_common(m, METRICS_SESSIONS), gauge);
	metrics_observe(m, metrics_series(m, T_LATENCY, ""), 0.5);
	metrics_inc(m, id, 5);
	if (stay)
		pause();
	_exit(0);
}

/* test_reap - wait for pid */
static void
test_reap(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}

/* test_collect - the exposition as a new string */
static char *
test_collect(struct metrics *m)
{
	struct buf out;

	buf_init(&out, metrics_text_limit(m));
	ck_assert_int_eq(metrics_collect(m, &out), 0);
	return buf_steal(&out);
}

START_TEST(map_sums_processes_and_drops_dead_gauges)
{
	struct metrics *m = metrics_new(test_fams, T_NFAMS, 512);
	int id = metrics_series(m, T_RESULTS, "kind=\"pass\"");
	pid_t live, gone;
	char *text;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(metrics_series(m, T_RESULTS, "kind=\"pass\""), id);
	ck_assert_int_eq(metrics_attach(m), 0);
	metrics_inc(m, id, 1);
	live = test_child(m, id, 2, true);
	gone = test_child(m, id, 3, false);
	test_reap(gone);
	/* the staying child has counted once it is paused: poll for its 5 */
	for (int i = 0; i < 200; i++) {
		text = test_collect(m);
		if (strstr(text, "t_results_total{kind=\"pass\"} 11\n"))
			break;
		free(text);
		text = NULL;
		usleep(10000);
	}
	ck_assert_msg(text != NULL, "the three processes' counts were not summed");
	/* the exited child's sessions are gone; the live one's 2 stay */
	ck_assert_msg(strstr(text, "mailauth_sessions_in_flight 2\n") != NULL, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "t_latency_seconds_count 2\n"));
	ck_assert_ptr_null(strstr(text, "t_unused_total"));
	free(text);
	kill(live, SIGKILL);
	test_reap(live);
	/* a new process takes a dead one's cell: counters kept, gauge reset */
	test_reap(test_child(m, id, 0, false));
	text = test_collect(m);
	ck_assert_ptr_nonnull(strstr(text, "t_results_total{kind=\"pass\"} 16\n"));
	ck_assert_ptr_nonnull(strstr(text, "mailauth_sessions_in_flight 0\n"));
	free(text);
	metrics_free(m);
}
END_TEST

/* Sizes of metrics_series_limit a map is made with. */
static const int registry_limits[] = { 64, 100, 4096 };

START_TEST(registry_holds_exactly_its_series_limit)
{
	int limit = registry_limits[_i];
	struct metrics *m = metrics_new(test_fams, T_NFAMS, limit);
	char labels[64], *text;
	int id = 0, n = 0;

	ck_assert_ptr_nonnull(m);
	/* the common families' series are registered already; a histogram
	 * takes its buckets on top of its one series */
	ck_assert_int_ge(metrics_series(m, T_LATENCY, ""), 0);
	while (id >= 0 && n < 2 * limit) {
		snprintf(labels, sizeof(labels), "k=\"%d\"", n++);
		id = metrics_series(m, T_RESULTS, labels);
	}
	ck_assert_int_eq(id, -1);
	ck_assert_int_eq(n - 1, limit - METRICS_COMMON_COUNT - 1);
	/* a full registry still finds its series, and its exposition fits */
	snprintf(labels, sizeof(labels), "k=\"%d\"", 0);
	ck_assert_int_ge(metrics_series(m, T_RESULTS, labels), 0);
	metrics_attach(m);
	metrics_inc(m, metrics_series(m, T_RESULTS, labels), 3);
	text = test_collect(m);
	ck_assert_ptr_nonnull(strstr(text, "t_results_total{k=\"0\"} 3\n"));
	free(text);
	/* counting into no series is harmless */
	metrics_inc(m, -1, 1);
	metrics_observe(m, -1, 1.0);
	metrics_free(m);
	/* metrics off: every call is a no-op */
	metrics_inc(NULL, 0, 1);
	ck_assert_int_eq(metrics_series(NULL, 0, ""), -1);
}
END_TEST

static const struct {
	const char *spec;
	int rc;
} listen_cases[] = {
	{ "", 0 }, { "127.0.0.1:9140", 0 }, { "[::1]:9140", 0 }, { "0.0.0.0:80", 0 },
	{ "127.0.0.1", -1 }, { "[::1]", -1 }, { "localhost:9140", -1 },
	{ "127.0.0.1:0", -1 }, { "127.0.0.1:99999", -1 }, { "127.0.0.1:x", -1 },
};

START_TEST(listen_check_wants_numeric_addr_and_port)
{
	char *spec = (char *)listen_cases[_i].spec;
	struct buf err;

	buf_init(&err, 1024);
	ck_assert_msg(metrics_listen_check(&spec, &err) == listen_cases[_i].rc,
	    "%s: %s", spec, buf_cstr(&err));
	buf_clear(&err);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, text_writes_help_type_and_cumulative_buckets);
	tcase_add_test(tc, text_histogram_labels_come_before_le);
	tcase_add_test(tc, text_reports_a_full_buffer);
	tcase_add_test(tc, label_values_are_escaped);
	tcase_add_test(tc, map_sums_processes_and_drops_dead_gauges);
	tcase_add_loop_test(tc, registry_holds_exactly_its_series_limit, 0,
	    ARRAY_LEN(registry_limits));
	tcase_add_loop_test(tc, listen_check_wants_numeric_addr_and_port, 0,
	    ARRAY_LEN(listen_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
