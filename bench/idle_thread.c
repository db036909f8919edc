/*
 * idle_thread.c - an LD_PRELOAD module that starts one thread which only
 * sleeps. bench/broker-overhead loads it into a bare Mosquitto to measure
 * what any second thread costs the broker (glibc drops its single-thread
 * fast paths, e.g. lock-free malloc, once a process has two threads), so
 * that the plugins' own cost can be told apart from that tax.
 */
#include <pthread.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

__attribute__((constructor)) static void start_idle_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, sleeper, NULL) == 0)
		pthread_detach(t);
}
