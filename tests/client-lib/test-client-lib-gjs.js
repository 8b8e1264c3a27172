// SPDX-License-Identifier: LGPL-2.1-or-later
// libvhostshare-1 from GJS through its typelib: run by
// test-client-lib-gjs.py against vhost-shared on a private bus
// (VHOST_SHARE_TEST_ADDRESS). Prints TAP.
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import VhostShare from 'gi://VhostShare?version=1';

const address = GLib.getenv('VHOST_SHARE_TEST_ADDRESS');
const dir = GLib.getenv('VHOST_SHARE_TEST_DIR');
const TIMEOUT_MS = 30000;
const cases = [];
const test = (name, fn) => cases.push([name, fn]);

function assert(cond, what) {
    if (!cond)
        throw new Error(`assertion failed: ${what}`);
}

// Runs the default main context until done() or the deadline.
function iterateUntil(done, what) {
    const ctx = GLib.MainContext.default();
    const deadline = GLib.get_monotonic_time() + TIMEOUT_MS * 1000;
    while (!done() && GLib.get_monotonic_time() < deadline)
        ctx.iteration(false) || GLib.usleep(1000);
    assert(done(), `${what} within ${TIMEOUT_MS} ms`);
}

function asyncResult(start) {
    let result = null;
    start((source, res) => {
        result = res;
    });
    iterateUntil(() => result !== null, 'the async call');
    return result;
}

test('construct_async', () => {
    const res = asyncResult(cb => VhostShare.Client.new_for_address(address, null, cb));
    const client = VhostShare.Client.new_finish(res);
    assert(client.name_owner.startsWith(':'), `name-owner ${client.name_owner}`);
    assert(client.version !== '', 'a version');
    assert(client.list_objects().length === 0, 'an empty table');
});

test('export_file_follow_remove', () => {
    const client = VhostShare.Client.new_for_address_sync(address, null);
    const added = [];
    const removed = [];
    client.connect('object-added', (c, obj) => added.push(obj.uuid));
    client.connect('object-removed', (c, obj) => removed.push(obj.uuid));
    const path = GLib.build_filenamev([dir, 'gjs.bin']);
    GLib.file_set_contents(path, 'hello from gjs');
    const uuid = client.export_file_sync(Gio.File.new_for_path(path), null, null);
    iterateUntil(() => added.includes(uuid), 'object-added');
    const obj = client.get_object(uuid);
    assert(obj.object_type === 'dma-buf', `type ${obj.object_type}`);
    assert(obj.size === 14, `size ${obj.size}`);
    assert(obj.exporter === 'memfd', `exporter ${obj.exporter}`);

    let notified = 0;
    obj.connect('notify::lookup-count', () => notified++);
    const fd = client.lookup_sync(uuid, null);
    assert(fd >= 0, `fd ${fd}`);
    const stream = new Gio.UnixInputStream({fd, close_fd: true});
    const bytes = stream.read_bytes(64, null);
    stream.close(null);
    assert(new TextDecoder().decode(bytes.toArray()) === 'hello from gjs', 'the contents');
    iterateUntil(() => notified === 1 && obj.lookup_count === 1, 'notify::lookup-count');

    client.remove_sync(uuid, null);
    iterateUntil(() => removed.includes(uuid), 'object-removed');
});

test('error_domain', () => {
    const client = VhostShare.Client.new_for_address_sync(address, null);
    try {
        client.remove_sync('11111111-2222-4333-8444-555555555555', null);
        assert(false, 'removing an unknown UUID failed');
    } catch (e) {
        assert(e.matches(VhostShare.Error, VhostShare.Error.NOT_FOUND), `${e}`);
    }
});

print(`1..${cases.length}`);
let failed = 0;
cases.forEach(([name, fn], i) => {
    try {
        fn();
        print(`ok ${i + 1} ${name}`);
    } catch (e) {
        failed++;
        for (const line of `${e}\n${e.stack}`.split('\n'))
            print(`# ${line}`);
        print(`not ok ${i + 1} ${name}`);
    }
});
imports.system.exit(failed ? 1 : 0);
