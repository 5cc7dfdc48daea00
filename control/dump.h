/* kraftd: the dump subcommand (control/dump.c). */
#ifndef KRAFTD_DUMP_H
#define KRAFTD_DUMP_H

/** kraftd dump [--records] FILE...: argv without the command. @return the exit status. */
int kr_cmd_dump(int argc, char **argv);

#endif
