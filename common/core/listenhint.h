/*
 * listenhint.h - what an administrator does about a listener that cannot be
 * bound (reinject(8) and policyd(8) -t and start-up).
 */
#ifndef MAILAUTH_LISTENHINT_H
#define MAILAUTH_LISTENHINT_H

/* listenhint_why - " (reason)" for a bind errno, "" when there is nothing to add */
const char *listenhint_why(int e);

#endif
