# For tunl.postrm (debian/rules pastes it in at #UNWIRE#). prerm ran
# tunl-admin disable; by postrm tunl-admin is gone, so an include put back
# by hand meanwhile is taken out here, in the safe order: first the
# `@include tunl' line of /etc/pam.d/sshd (while /etc/pam.d/tunl is still
# there), then the sshd drop-in; sshd -t must accept the result, else both
# are put back and unwire fails.

PAMSSHD=/etc/pam.d/sshd
DROPIN=/etc/ssh/sshd_config.d/tunl.conf

pam_wired() {
	[ -f "$PAMSSHD" ] &&
	    grep -Eq '^[[:space:]]*@include[[:space:]]+tunl([[:space:]]|$)' \
	        "$PAMSSHD"
}

wired() {
	pam_wired || [ -e "$DROPIN" ]
}

# Another PAM file naming pam_tunl.so itself: not ours to edit.
pam_named_elsewhere() {
	grep -ls 'pam_tunl\.so' /etc/pam.d/* 2>/dev/null |
	    grep -v '^/etc/pam\.d/tunl$' | head -n 1
}

sshd_ok() {
	! command -v sshd >/dev/null 2>&1 || sshd -t
}

unwire_by_hand() {
	if pam_wired; then
		cp -p "$PAMSSHD" "$PAMSSHD.tunl-backup"
		cp -p "$PAMSSHD" "$PAMSSHD.tunl-new"
		grep -Ev '^[[:space:]]*@include[[:space:]]+tunl([[:space:]]|$)' \
		    "$PAMSSHD.tunl-backup" >"$PAMSSHD.tunl-new" || true
		mv "$PAMSSHD.tunl-new" "$PAMSSHD"
	fi
	if [ -e "$DROPIN" ]; then
		mv "$DROPIN" "$DROPIN.tunl-removed"
		if ! sshd_ok; then
			mv "$DROPIN.tunl-removed" "$DROPIN"
			[ -f "$PAMSSHD.tunl-backup" ] &&
			    cp -p "$PAMSSHD.tunl-backup" "$PAMSSHD"
			return 1
		fi
		rm -f "$DROPIN.tunl-removed"
	fi
}

# unwire: 0 once nothing of tunl is in sshd or its PAM stack.
unwire() {
	_other=$(pam_named_elsewhere)
	if [ -n "$_other" ]; then
		echo "tunl: $_other names pam_tunl.so; remove that line first" >&2
		return 1
	fi
	wired || return 0
	# tunl-admin disable does it with a PAM dry run; by hand otherwise.
	if [ -x /usr/sbin/tunl-admin ] &&
	    /usr/sbin/tunl-admin disable >/dev/null 2>&1 && ! wired; then
		:
	else
		unwire_by_hand || return 1
	fi
	wired && return 1
	# A running sshd reads its configuration again (PAM files are read
	# per connection anyway).
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null &&
	    systemctl is-active --quiet ssh 2>/dev/null; then
		systemctl reload ssh || true
	fi
	echo "tunl: taken out of sshd and its PAM stack"
	return 0
}
