/*
 * sandbox_none.c - built without libseccomp: workers are not confined
 * (see sandbox.h); systemd's SystemCallFilter in etc/systemd can stand in.
 */
#include "log.h"
#include "sandbox.h"

/* sandbox_enter - nothing to apply; said once in the log */
int
sandbox_enter(unsigned flags)
{
	(void)flags;
	log_debug("built without libseccomp: worker not confined");
	return 0;
}

/* sandbox_available - no */
bool
sandbox_available(void)
{
	return false;
}
