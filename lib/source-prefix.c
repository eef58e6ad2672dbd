/*
 * source-prefix.c: the key under which per-source failures are counted.
 *
 * An IPv4 address is one source. An IPv6 host is normally given a whole
 * /64 and can pick any address inside it, so counting per address would
 * let one attacker spread its attempts over 2^64 counters: an IPv6 source
 * is counted by its /64 prefix instead ("2001:db8:1:2::/64"). Events keep
 * the full address; only the rate limit counts by prefix.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "tunl.h"

/*
 * src is a canonical source (an IPv4 address, an IPv6 address that is
 * not IPv4-mapped, or "local"). Writes its counting key into out.
 */
int
source_limit_key(const char *src, char out[EVENT_SOURCE_LEN])
{
	struct in6_addr	 a6;
	char		 text[EVENT_SOURCE_LEN];

	if (src == NULL || memchr(src, '\0', EVENT_SOURCE_LEN) == NULL)
		return TUNL_ERR_INVALID;
	if (strchr(src, ':') == NULL) {
		tunl_strlcpy(out, src, EVENT_SOURCE_LEN);
		return 0;
	}
	if (inet_pton(AF_INET6, src, &a6) != 1 || IN6_IS_ADDR_V4MAPPED(&a6))
		return TUNL_ERR_INVALID;
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, text, sizeof(text)) == NULL)
		return TUNL_ERR_INVALID;
	if ((size_t)snprintf(out, EVENT_SOURCE_LEN, "%s/64", text) >=
	    EVENT_SOURCE_LEN)
		return TUNL_ERR_LENGTH;
	return 0;
}
