/*
 * kh_result.h — the one result convention of the library.
 *
 * A function that can fail returns an int that says which of three things happened,
 * never the same -1 for two of them:
 *
 *   KH_OK   done; or, for a question, "yes"
 *   KH_NO   the answer is "no" or the input is refused: not found, not allowed, not
 *           valid.  Nothing is wrong with the process; the reason is in the caller's
 *           message buffer when the function takes one
 *   KH_ERR  it could not be done or could not be told: out of memory, a database or
 *           socket error.  The reason is logged or in the message buffer; the caller
 *           may retry, and must not treat the input as refused for the province's own
 *           trouble
 *
 * A function documents in its header which of the three it can return.  Older
 * functions that return 0 / -1 mean KH_OK / KH_ERR by it (and say so).
 */
#ifndef KH_RESULT_H
#define KH_RESULT_H

#define KH_OK 0
#define KH_NO 1
#define KH_ERR (-1)

#endif
