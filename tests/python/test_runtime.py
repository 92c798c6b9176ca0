"""Unit tests of the wasm backend's runtime, runtime/_runtime.py, imported on its own.

Every generated package carries a byte-for-byte copy of that file as `<pkg>/_runtime.py`;
these tests load the source file itself under a private module name (so they never share
state with a generated package's copy) and check the parts that can be tested without a
module: the `Wasi` configuration, the WASI output streams, the lowering of host-import
results and the compile cache's file names.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import importlib.util
import io
import os
import struct
import sys
import zlib

import pytest
from conftest import ROOT

RUNTIME_PATH = ROOT / "runtime" / "_runtime.py"
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def load_runtime():
    name = "_wasm2py_runtime_under_test"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, RUNTIME_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while decorating
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


rt = load_runtime()


def test_the_runtime_is_loaded_from_the_source_file():
    assert os.path.samefile(rt.__file__, RUNTIME_PATH)
    assert rt.HAVE_WASMTIME  # the suite runs with wasmtime-py installed


# ---- Wasi --------------------------------------------------------------------------------


def test_wasi_defaults_are_the_sandbox():
    wasi = rt.Wasi()
    assert dict(wasi.env) == {}
    assert wasi.args is None
    assert dict(wasi.dirs) == {}
    assert dict(wasi.writable_dirs) == {}
    assert wasi.stdin == b""
    assert wasi.stdout is None
    assert wasi.stderr is None


def test_wasi_default_mappings_are_not_shared_between_instances():
    assert rt.Wasi().env is not rt.Wasi().env
    assert rt.Wasi().dirs is not rt.Wasi().dirs


def test_wasi_accepts_a_full_configuration(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    (tmp_path / "ro").mkdir()
    (tmp_path / "rw").mkdir()
    wasi = rt.Wasi(
        env={"HOME": "/home/guest", "EMPTY": "", "WITH_EQUALS": "a=b"},
        args=("prog", "--flag", ""),
        dirs={"/data": tmp_path / "ro"},  # os.PathLike accepted
        writable_dirs={"/out": str(tmp_path / "rw")},
        stdin=b"input\n",
        stdout=out,
        stderr=err,
    )
    assert wasi.env["WITH_EQUALS"] == "a=b"  # '=' is fine in a value
    assert list(wasi.args) == ["prog", "--flag", ""]
    assert wasi.stdout is out and wasi.stderr is err


@pytest.mark.parametrize(
    "env",
    [
        {"A=B": "x"},  # '=' cannot be in a name
        {"=": "x"},
        {"A\0": "x"},
        {"A": "x\0y"},
    ],
)
def test_wasi_refuses_invalid_env_names_and_values(env):
    with pytest.raises(ValueError, match="Wasi.env"):
        rt.Wasi(env=env)


@pytest.mark.parametrize("env", [{1: "x"}, {"A": 1}, {b"A": "x"}, {"A": b"x"}, {"A": None}])
def test_wasi_env_maps_str_to_str(env):
    with pytest.raises(TypeError, match="Wasi.env"):
        rt.Wasi(env=env)


@pytest.mark.parametrize("args", ["prog --flag", "", ["prog", 1], [b"prog"], ("a", None)])
def test_wasi_args_is_a_sequence_of_str(args):
    with pytest.raises(TypeError, match="Wasi.args"):
        rt.Wasi(args=args)


@pytest.mark.parametrize("stdin", ["text", 0, None, ["a"]])
def test_wasi_stdin_must_be_bytes(stdin):
    with pytest.raises(TypeError, match="Wasi.stdin") as caught:
        rt.Wasi(stdin=stdin)
    assert type(stdin).__name__ in str(caught.value)


@pytest.mark.parametrize("field", ["dirs", "writable_dirs"])
def test_wasi_refuses_a_directory_that_does_not_exist(tmp_path, field):
    missing = tmp_path / "missing"
    with pytest.raises(ValueError) as caught:
        rt.Wasi(**{field: {"/data": missing}})
    assert str(missing) in str(caught.value)
    assert "/data" in str(caught.value)


@pytest.mark.parametrize("field", ["dirs", "writable_dirs"])
def test_wasi_refuses_a_file_as_a_directory(tmp_path, field):
    path = tmp_path / "file.txt"
    path.write_text("not a directory")
    with pytest.raises(ValueError, match="not a directory"):
        rt.Wasi(**{field: {"/data": path}})


def test_wasi_directories_are_keyed_by_a_guest_path_string(tmp_path):
    with pytest.raises(TypeError):
        rt.Wasi(dirs={1: tmp_path})


def test_wasi_is_frozen(tmp_path):
    wasi = rt.Wasi(env={"A": "1"})
    for field, value in (
        ("env", {}),
        ("args", ["x"]),
        ("stdin", b"x"),
        ("dirs", {"/": tmp_path}),
        ("stdout", io.StringIO()),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(wasi, field, value)
    assert dict(wasi.env) == {"A": "1"}
    assert wasi.stdin == b""


def test_wasi_replace_validates_again(tmp_path):
    wasi = rt.Wasi()
    assert dataclasses.replace(wasi, stdin=b"x").stdin == b"x"
    with pytest.raises(TypeError):
        dataclasses.replace(wasi, args="prog")


# ---- WASI output streams -------------------------------------------------------------------


def test_output_decodes_utf8_split_across_writes():
    stream = io.StringIO()
    output = rt._Output(stream, "stdout")
    encoded = "h\u00e9\u20ac\U0001f600!".encode()  # 1-, 2-, 3- and 4-byte characters
    for i in range(len(encoded)):
        output(encoded[i : i + 1])  # one byte at a time
    assert stream.getvalue() == "h\u00e9\u20ac\U0001f600!"


def test_output_writes_nothing_for_an_incomplete_character():
    stream = io.StringIO()
    output = rt._Output(stream, "stdout")
    output(b"\xe2\x82")  # the first two bytes of U+20AC
    assert stream.getvalue() == ""
    output(b"\xac")
    assert stream.getvalue() == "\u20ac"


def test_output_replaces_invalid_utf8():
    stream = io.StringIO()
    rt._Output(stream, "stderr")(b"a\xffb")
    assert stream.getvalue() == "a\ufffdb"


def test_output_writes_to_the_given_stream_not_sys_stdout():
    stream, redirected = io.StringIO(), io.StringIO()
    output = rt._Output(stream, "stdout")
    with contextlib.redirect_stdout(redirected):
        output(b"to the stream")
    assert stream.getvalue() == "to the stream"
    assert redirected.getvalue() == ""


def test_output_without_a_stream_follows_sys_stdout_at_call_time():
    output = rt._Output(None, "stdout")  # made before any redirection
    first, second = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(first):
        output(b"one ")
    with contextlib.redirect_stdout(second):
        output(b"two")
    assert first.getvalue() == "one "
    assert second.getvalue() == "two"


def test_output_without_a_stream_follows_sys_stderr_at_call_time():
    output = rt._Output(None, "stderr")
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        output(b"oops\n")
    assert err.getvalue() == "oops\n"
    assert out.getvalue() == ""


class _Raising(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("disk full")


@pytest.fixture
def registered_output():
    """registered_output(stream) registers an _Output under a fresh id; removed after."""
    keys = []

    def register(stream):
        key = next(rt._OUTPUT_IDS)
        rt._OUTPUTS[key] = rt._Output(stream, "stdout")
        keys.append(key)
        return key

    yield register
    for key in keys:
        rt._OUTPUTS.pop(key, None)


def _buffer(data: bytes):
    buffer = ctypes.create_string_buffer(data, len(data))
    return buffer, ctypes.addressof(buffer)


def test_output_entry_writes_and_returns_the_size(registered_output):
    stream = io.StringIO()
    key = registered_output(stream)
    keep, address = _buffer("h\u00e9llo".encode())
    assert rt._output_entry(key, address, 6) == 6
    assert stream.getvalue() == "h\u00e9llo"
    assert rt._output_entry(key, address, 0) == 0  # an empty write
    assert stream.getvalue() == "h\u00e9llo"
    del keep


def test_output_entry_with_an_unknown_id_swallows_the_data(registered_output):
    stream = io.StringIO()
    key = registered_output(stream)
    unknown = key + 1_000_000
    assert unknown not in rt._OUTPUTS
    keep, address = _buffer(b"lost")
    assert rt._output_entry(unknown, address, 4) == 4
    assert rt._output_entry(None, address, 4) == 4
    assert stream.getvalue() == ""
    del keep


def test_output_entry_returns_eio_when_the_stream_raises(registered_output):
    key = registered_output(_Raising())
    keep, address = _buffer(b"data")
    assert rt._output_entry(key, address, 4) == -5
    # A stream that works again afterwards gets the next write.
    stream = io.StringIO()
    rt._OUTPUTS[key] = rt._Output(stream, "stdout")
    assert rt._output_entry(key, address, 4) == 4
    assert stream.getvalue() == "data"
    del keep


def test_output_entry_sees_sys_stdout_at_call_time(registered_output):
    key = registered_output(None)
    keep, address = _buffer(b"captured")
    target = io.StringIO()
    with contextlib.redirect_stdout(target):
        assert rt._output_entry(key, address, 8) == 8
    assert target.getvalue() == "captured"
    del keep


# ---- host-import results -------------------------------------------------------------------


def host(result: str, core: str = "i32"):
    spec = rt.Import("env", "answer", (), result, (), (core,))
    return rt._HostImport(spec)


INT_RANGES = {
    "u8": (0, 0xFF),
    "u16": (0, 0xFFFF),
    "u32": (0, M32),
    "u64": (0, M64),
    "i8": (-128, 127),
    "i16": (-32768, 32767),
    "i32": (-(2**31), 2**31 - 1),
    "i64": (-(2**63), 2**63 - 1),
    "ptr": (0, M32),
}


def test_host_import_key_is_module_dot_name():
    assert host("u32").key == "env.answer"
    assert rt.Import("wasi_ext", "f", (), None, (), ()).key == "wasi_ext.f"


@pytest.mark.parametrize("kind", sorted(INT_RANGES))
def test_lower_accepts_exactly_the_range_of_each_integer_kind(kind):
    lo, hi = INT_RANGES[kind]
    core = "i64" if kind in ("i64", "u64") else "i32"
    h = host(kind, core)
    for value in (lo, lo + 1, 0, hi - 1, hi):
        assert h.lower(value) == value
    for value in (lo - 1, hi + 1, lo - 2**70, hi + 2**70):
        with pytest.raises(OverflowError) as caught:
            h.lower(value)
        message = str(caught.value)
        assert "env.answer" in message
        assert kind in message
        assert repr(value) in message


@pytest.mark.parametrize("kind", sorted(INT_RANGES))
def test_lower_takes_anything_with_index(kind):
    class Index:
        def __index__(self) -> int:
            return 7

    h = host(kind, "i64" if kind in ("i64", "u64") else "i32")
    assert h.lower(Index()) == 7
    assert h.lower(True) == 1


@pytest.mark.parametrize("kind", ["u8", "u32", "u64", "i32", "i64", "ptr"])
@pytest.mark.parametrize("value", [1.0, "1", b"1", None, [1], 1 + 0j])
def test_lower_refuses_non_integers_for_integer_kinds(kind, value):
    with pytest.raises(TypeError) as caught:
        host(kind).lower(value)
    assert "env.answer" in str(caught.value)
    assert type(value).__name__ in str(caught.value)


@pytest.mark.parametrize(
    ("value", "lowered"),
    [(True, 1), (False, 0), (5, 1), (-1, 1), (0, 0), (0.0, 0), ("x", 1), ("", 0), ([], 0), ([0], 1), (None, 0)],
)
def test_lower_bool_is_truthiness(value, lowered):
    result = host("bool").lower(value)
    assert result == lowered
    assert type(result) is int


@pytest.mark.parametrize("kind", ["f32", "f64"])
def test_lower_floats_accept_ints_and_floats(kind):
    h = host(kind, kind)
    assert h.lower(3) == 3.0 and type(h.lower(3)) is float
    assert h.lower(2.5) == 2.5
    assert h.lower(True) == 1.0
    assert h.lower(-(2**60)) == float(-(2**60))
    assert h.lower(float("inf")) == float("inf")


@pytest.mark.parametrize("kind", ["f32", "f64"])
@pytest.mark.parametrize("value", ["1.5", b"1.5", bytearray(b"1"), None, [1.0], object()])
def test_lower_floats_refuse_text_and_non_numbers(kind, value):
    with pytest.raises(TypeError) as caught:
        host(kind, kind).lower(value)
    assert "env.answer" in str(caught.value)
    assert type(value).__name__ in str(caught.value)


def test_pack_writes_the_lowered_result_into_the_first_slot():
    for kind, core, value, fmt in (
        ("u32", "i32", M32, "<I"),
        ("i32", "i32", -2, "<i"),
        ("u64", "i64", M64, "<Q"),
        ("i64", "i64", -(2**63), "<q"),
        ("f64", "f64", 0.1, "<d"),
        ("bool", "i32", 1, "<i"),
    ):
        h = host(kind, core)
        slots = bytearray(b"\xaa" * 16)
        h.pack(slots, 0, h.lower(value))
        assert struct.unpack_from(fmt, slots)[0] == value, kind


def test_an_import_without_result_packs_nothing():
    h = rt._HostImport(rt.Import("env", "log", ("str",), None, ("i32", "i32"), ()))
    assert h.pack is None
    assert h.size == 32  # two core parameters, two slots


# ---- host-import arguments -----------------------------------------------------------------


class _Error(Exception):
    pass


class _FakeState:
    """What lift() uses of a State: its memory and the package's error class."""

    def __init__(self, memory: bytearray) -> None:
        self.memory = memory
        self.rt = type("R", (), {"spec": type("S", (), {"error": _Error})()})()

    def memory_now(self):
        return memoryview(self.memory)


def lift(params, raw, memory=None):
    core = []
    for p in params:
        core += ["i32", "i32"] if p in ("str", "bytes") or p.startswith("list:") else ["i32"]
    h = rt._HostImport(rt.Import("env", "f", tuple(params), None, tuple(core), ()))
    return h.lift(_FakeState(memory if memory is not None else bytearray(64)), tuple(raw))


def test_lift_masks_unsigned_kinds():
    assert lift(["u32", "ptr", "u64"], [-1, -8, -1]) == [M32, M32 - 7, M64]
    assert lift(["u8", "u16"], [-1, -1]) == [0xFF, 0xFFFF]
    assert lift(["bool", "bool"], [0, -5]) == [False, True]


def test_lift_copies_bytes_and_decodes_str():
    memory = bytearray(64)
    memory[8:14] = "h\u00e9llo".encode()
    args = lift(["bytes", "str"], [8, 6, 8, 6], memory)
    assert args == ["h\u00e9llo".encode(), "h\u00e9llo"]
    memory[8:14] = b"\0" * 6
    assert args[0] == "h\u00e9llo".encode()  # a copy, not a view of guest memory


def test_lift_reads_lists():
    memory = bytearray(64)
    memory[16:28] = (1).to_bytes(4, "little") + (-2).to_bytes(4, "little", signed=True) + M32.to_bytes(4, "little")
    assert lift(["list:i"], [16, 3], memory) == [[1, -2, -1]]
    assert lift(["list:I"], [16, 3], memory) == [[1, M32 - 1, M32]]


@pytest.mark.parametrize(("ptr", "length"), [(60, 5), (64, 1), (-4, 4), (0, -1), (1, M32)])
def test_lift_refuses_data_outside_memory(ptr, length):
    with pytest.raises(_Error) as caught:
        lift(["bytes"], [ptr, length])
    assert "env.f" in str(caught.value)
    assert "outside" in str(caught.value)


def test_lift_refuses_invalid_utf8():
    memory = bytearray(64)
    memory[0] = 0xFF
    with pytest.raises(_Error, match="env.f.*UTF-8"):
        lift(["str"], [0, 1], memory)


# ---- the compile cache's files ---------------------------------------------------------------

SHA = hashlib.sha256(b"a module").hexdigest()  # its two halves differ


def test_cache_is_off_with_wasm2py_cache_0(monkeypatch, tmp_path):
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("WASM2PY_CACHE", "0")
    assert rt.cache_files("pkg", SHA) is None
    monkeypatch.setenv("WASM2PY_CACHE", "1")
    assert rt.cache_files("pkg", SHA) is not None


def test_cache_files_honour_wasm2py_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("WASM2PY_CACHE", raising=False)
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path / "cache"))
    files = rt.cache_files("pkg", SHA)
    assert files is not None
    artifact, checksum = files
    assert os.path.dirname(artifact) == str(tmp_path / "cache")
    assert checksum == artifact + ".crc32"
    name = os.path.basename(artifact)
    assert name.startswith("pkg-")
    assert name.endswith(".cwasm")
    assert SHA[:32] in name  # the key covers the module
    assert SHA[:32] != SHA[32:]


def test_cache_files_fall_back_to_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv("WASM2PY_CACHE", raising=False)
    monkeypatch.delenv("WASM2PY_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    files = rt.cache_files("pkg", SHA)
    assert files is not None
    assert os.path.dirname(files[0]) == str(tmp_path / "wasm2py")


def test_cache_key_differs_per_module_and_per_package(monkeypatch, tmp_path):
    monkeypatch.delenv("WASM2PY_CACHE", raising=False)
    monkeypatch.setenv("WASM2PY_CACHE_DIR", str(tmp_path))
    other_sha = hashlib.sha256(b"another module").hexdigest()
    a = rt.cache_files("pkg", SHA)
    assert a == rt.cache_files("pkg", SHA)  # stable
    assert a != rt.cache_files("pkg", other_sha)
    assert a != rt.cache_files("other", SHA)
    b = rt.cache_files("pkg", other_sha)
    assert b is not None and other_sha[:32] in os.path.basename(b[0])


# ---- the compile cache's trust checks and reads (in process; test_cache.py runs them for real)


@pytest.fixture(scope="module")
def serialized():
    import wasmtime

    engine = wasmtime.Engine()
    data = bytes(wasmtime.Module(engine, (ROOT / "generated" / "fib" / "fib" / "fib.wasm").read_bytes()).serialize())
    return engine, data


@pytest.mark.parametrize("memfd", [True, False])
def test_deserialize_checked_loads_exactly_the_bytes_checked(serialized, tmp_path, monkeypatch, memfd):
    engine, data = serialized
    if not memfd:  # elsewhere than Linux: the bytes are deserialized from memory
        monkeypatch.delattr(os, "memfd_create", raising=False)
    artifact = tmp_path / "artifact"
    artifact.write_bytes(data)
    expected = rt._checksum(zlib.crc32(data), len(data))
    fd = os.open(artifact, os.O_RDONLY)
    try:
        module = rt._deserialize_checked(engine, fd, expected)
        assert module is not None and "gcd" in {e.name for e in module.exports}
        os.lseek(fd, 0, os.SEEK_SET)
        assert rt._deserialize_checked(engine, fd, rt._checksum(0, len(data))) is None
    finally:
        os.close(fd)


def test_deserialize_checked_falls_back_to_memory_when_proc_is_unusable(serialized, tmp_path, monkeypatch):
    import wasmtime

    engine, data = serialized

    def no_proc(engine, path):
        raise wasmtime.WasmtimeError("no /proc")

    monkeypatch.setattr(wasmtime.Module, "deserialize_file", no_proc)
    artifact = tmp_path / "artifact"
    artifact.write_bytes(data)
    fd = os.open(artifact, os.O_RDONLY)
    try:
        assert rt._deserialize_checked(engine, fd, rt._checksum(zlib.crc32(data), len(data))) is not None
    finally:
        os.close(fd)


def test_open_cache_dir_rules(tmp_path):
    cache = tmp_path / "cache"
    assert rt.open_cache_dir(str(cache)) is None  # missing, not made without create
    assert not cache.exists()
    fd = rt.open_cache_dir(str(cache), create=True)
    assert fd is not None
    assert os.path.samestat(os.fstat(fd), cache.stat())
    os.close(fd)
    assert cache.stat().st_mode & 0o777 == 0o700
    cache.chmod(0o720)  # group-writable
    assert rt.open_cache_dir(str(cache)) is None
    cache.chmod(0o700)
    tmp_path.chmod(0o777)  # a parent others can write to, not sticky
    try:
        assert rt.open_cache_dir(str(cache)) is None
        tmp_path.chmod(0o1777)  # sticky, like /tmp
        fd = rt.open_cache_dir(str(cache))
        assert fd is not None
        os.close(fd)
    finally:
        tmp_path.chmod(0o700)
    (tmp_path / "link").symlink_to(cache)
    assert rt.open_cache_dir(str(tmp_path / "link")) is None  # the cache directory: never a symlink
    (tmp_path / "up").symlink_to(tmp_path)
    fd = rt.open_cache_dir(str(tmp_path / "up" / "cache"))  # above it: ours, followed
    assert fd is not None
    os.close(fd)
    (tmp_path / "a-file").write_text("")
    assert rt.open_cache_dir(str(tmp_path / "a-file" / "cache"), create=True) is None
