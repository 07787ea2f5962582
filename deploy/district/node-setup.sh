#!/bin/sh
# node-setup.sh — a district host's users and folders, made once by root: the district
# package's postinst runs it; after `make install-node`, run it yourself
# (@PKGDATADIR@/node-setup.sh).  Running it again changes nothing that is right already.
#
#   @NODE_GROUP@   the district's officers: whoever drops report files (usermod -aG)
#   @NODE_USER@        the system user kh-node runs as (kh-node@.service), primary group
#                  @NODE_GROUP@, no login
#   @STATEDIR@              @NODE_USER@:@NODE_GROUP@ 0750  ([general] run_dir)
#   @STATEDIR@/node         @NODE_USER@:@NODE_GROUP@ 0750  ([node] dir: outbox.db)
#   @STATEDIR@/node/spool   @NODE_USER@:@NODE_GROUP@ 2770  officers drop files here, no root
#                                        needed; setgid: each file takes the group
#   @STATEDIR@/keys         @NODE_USER@ 0700                the district's key (kh-node keygen)
#
# Why a group and not ACLs: a file an officer saves with the usual umask (022 or 027) is
# readable by the group, and the node's primary group is that group, so nothing beyond
# coreutils and passwd is needed.  A file saved unreadable to the group (umask 077) is
# refused unread by the node with a receipt saying so (FILE_UNREADABLE) and moved to
# spool/refused/.
set -eu
user=@NODE_USER@
group=@NODE_GROUP@
state=@STATEDIR@
getent group "$group" >/dev/null || groupadd --system "$group"
if ! getent passwd "$user" >/dev/null; then
    useradd --system --gid "$group" --home-dir "$state" --no-create-home \
        --shell /usr/sbin/nologin --comment "Khuyen hoc district node" "$user"
fi
install -d -o "$user" -g "$group" -m 0750 "$state" "$state/node"
install -d -o "$user" -g "$group" -m 2770 "$state/node/spool"
install -d -o "$user" -g "$group" -m 0700 "$state/keys"
echo "node-setup: $user, $group, $state/node/spool (2770), $state/keys (0700) ready."
echo "  Cán bộ gửi báo cáo / officers who drop reports: usermod -aG $group TÊN_NGƯỜI_DÙNG/USER"
echo "  Tiếp theo / next: kh-node keygen --district MÃ/CODE (README: Deploy a district host)"
