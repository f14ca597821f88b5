/* tw_exit.h: exit statuses of the twitchd commands, in one place. They are
 * the BSD <sysexits.h> codes; what each means for twitchd:
 *   EX_OK           0   done
 *   EX_USAGE        64  bad command line
 *   EX_DATAERR      65  bad input data (a file to replay or repair)
 *   EX_NOINPUT      66  an input file cannot be opened
 *   EX_UNAVAILABLE  69  the input device could not be (re)opened; the
 *                       daemon does not answer (ctl)
 *   EX_SOFTWARE     70  internal error (no memory, a thread failed)
 *   EX_CANTCREAT    73  the journal or record.dir is unusable; a key file
 *                       cannot be written; a session started but its
 *                       recording did not (ctl)
 *   EX_IOERR        74  an I/O error while running
 *   EX_TEMPFAIL     75  try again later (a recorder holds the file)
 *   EX_NOPERM       77  refused by the daemon (ctl, CURVE)
 *   EX_CONFIG       78  bad configuration
 * No other file defines exit statuses. */
#ifndef TW_EXIT_H
#define TW_EXIT_H

#include <sysexits.h>

#endif
