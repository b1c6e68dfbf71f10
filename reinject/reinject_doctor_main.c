/*
 * reinject_doctor_main.c - the standalone mailauth-doctor program: the same
 * code as "reinject doctor" (reinject-doctor(8)), under the name an
 * administrator looks for when checking a domain's outbound setup.
 */
#include "reinject.h"
#include "reinject_doctor.h"

int
main(int argc, char **argv)
{
	return reinject_doctor_main(argc, argv);
}
