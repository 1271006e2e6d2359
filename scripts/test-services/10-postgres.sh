# PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`): started by the
# machine; started here when it is down.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "PostgreSQL is down: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null
export FAPILOG_TEST_POSTGRES="${FAPILOG_TEST_POSTGRES:-host=127.0.0.1 port=5432 user=postgres dbname=test}"
