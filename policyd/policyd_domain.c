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
	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < l->count; i++) {
		const char *d = l->items[i];
		size_t dl = strlen(d);

		if (dl > 0 && d[dl - 1] == '.')
			dl--;
		if (dl == 0)
			continue;
		if (len == dl && ascii_mem_eq_ci(name, d, dl))
			return true;
		if (len > dl && name[len - dl - 1] == '.' &&
		    ascii_mem_eq_ci(name + len - dl, d, dl))
			return true;
	}
	return false;
}
