/*
 * keygen.h — `kh-node keygen`: the district makes its own key pair on its own host.
 *
 *   kh-node keygen --district CODE [--output DIR] [--force]
 *
 * The secret key goes where the node reads it ([node] key, e.g.
 * /var/lib/khuyenhoc/keys/node-829.key; with --output DIR, DIR/<that file name>), mode
 * 0600 in a folder made 0700; the public key beside it (node-829.pub) is the only file
 * that leaves the host: the province's administrator registers it with
 * `kh-admin keys register FILE.pub` (which refuses a unit that does not report) and sends
 * back server.pub, which goes to [node] server_key.  The key's id is CODE-YYYYMMDD-FP
 * (the machine's date and the first 8 hex digits of the fingerprint), so a key made
 * again later never collides with the one registered before (the province rotates:
 * `kh-admin keys rotate --old ID --new FILE.pub`).
 *
 * Refuses a code that is not a reporting unit of the catalogue ([general] data_dir) and
 * an existing key file or .pub unless --force (then both are replaced, each written
 * beside it and renamed over it).  Run as root, the files are given to the owner of
 * the keys folder (the khnode user the district package makes), so the node can read
 * them.  Exit status: 0 written, 1 refused or failed (the reason on stderr, in
 * Vietnamese and English), 2 usage.
 */
#ifndef KH_NODE_KEYGEN_H
#define KH_NODE_KEYGEN_H

/* `kh-node keygen …` (argv[1] == "keygen").  Returns the exit status. */
int node_keygen_main(int argc, char **argv);

#endif
