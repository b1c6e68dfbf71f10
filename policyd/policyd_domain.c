/*
 * policyd_domain.c - domain-name lists: is a name one of the listed domains
 * or below one?  The matching pypolicyd-spf (spf.domainmatch) and the SPF ptr
 * mechanism (RFC 7208 §5.5) use: equal, or ending in "." + domain, ASCII case
 * folded (RFC 4343); a trailing dot on either side is ignored.
 */
#include <string.h>

#include "policyd.h"
#include "util.h"

/* policyd_domain_in_list - name (len bytes) equal to or below a listed domain */
bool
policyd_domain_in_list(const struct config_list *l, const char *name, size_t len)
{
	for (size_t i = 0; i < l->count; i++)
		if (domain_is_under(name, len, l->items[i]))
			return true;
	return false;
}
