/*
 * transport.c — what each transport type is, and which ones this build
 * can run.
 */
#include <config.h>

#include <stddef.h>

#include "transport.h"

static const struct transport_type_info types[] = {
	{ TRANSPORT_MAILDIR, "maildir", "Maildir transport", true, true, true, &transport_maildir },
	{ TRANSPORT_SMTP, "smtp", "SMTP transport", true, false, true, NULL },
	{ TRANSPORT_POP3, "pop3", "POP3 transport", false, true, true, NULL },
	{ TRANSPORT_IMAP, "imap", "IMAP transport", false, true, true, NULL },
	/* A pipe cannot flush itself: the spooler flushes it with its entry
	 * ID as the target transport (the seed's second procedure). */
	{ TRANSPORT_PIPE, "pipe", "Pipe transport", true, false, false, &transport_pipe },
};

const struct transport_type_info *
transport_type_info(enum transport_type type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}
