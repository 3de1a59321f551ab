import snmp from 'net-snmp';

/**
 * MIB contents of simulated devices, values computed at request time from the clock so they
 * move the way real ones do: counters grow at a per-row rate, radio values drift.
 */

export const OID = {
  system: '1.3.6.1.2.1.1',
  // Table providers register at the entry (conceptual row), e.g. ifEntry.
  ifEntry: '1.3.6.1.2.1.2.2.1',
  ifXEntry: '1.3.6.1.2.1.31.1.1.1',
  lteCellEntry: '1.3.6.1.4.1.32473.1.1.1',
} as const;

const T = snmp.ObjectType;
const RO = snmp.MaxAccess['read-only'];

export interface SimClock {
  /** ms since epoch */
  now(): number;
}

export interface DeviceState {
  name: string;
  bootTime: number;
  /** Cells or ports forced down by a fault. */
  downRows: Set<number>;
  /** Added to every radio quality value (dB), for degradation faults. */
  radioOffsetDb: number;
  /** Added to one cell's radio quality values (dB): a single degraded cell. */
  cellOffsetDb: Map<number, number>;
  /** The backhaul link: extra round trip (ms) and packet loss (%) on top of the usual. */
  link: { extraRttMs: number; lossPercent: number };
}

/** A stable pseudo-random number in [0,1) from integers, so every run serves the same values. */
function rand(...xs: number[]): number {
  let h = 2166136261;
  for (const x of xs) h = Math.imul(h ^ x, 16777619) >>> 0;
  h ^= h >>> 13; h = Math.imul(h, 0x5bd1e995) >>> 0; h ^= h >>> 15;
  return (h >>> 0) / 2 ** 32;
}

function hashName(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) >>> 0;
  return h;
}

/** Reads the column and row index from an instance OID under a table entry. */
function cellOf(entryOid: string, oid: string): { col: number; row: number } {
  const rest = oid.slice(entryOid.length + 1).split('.');
  return { col: Number(rest[0]), row: Number(rest[1]) };
}

function systemProviders(state: DeviceState, descr: string, clock: SimClock) {
  const scalar = (sub: number, name: string, scalarType: number, value: () => unknown) => ({
    name, type: snmp.MibProviderType.Scalar, oid: `${OID.system}.${sub}`, scalarType, maxAccess: RO,
    handler: (req: any) => { req.instanceNode.value = value(); req.done(); },
  });
  return [
    scalar(1, 'sysDescr', T.OctetString, () => descr),
    scalar(2, 'sysObjectID', T.OID, () => '1.3.6.1.4.1.32473.2'),
    scalar(3, 'sysUpTime', T.TimeTicks, () => Math.floor((clock.now() - state.bootTime) / 10) % 2 ** 32),
    scalar(5, 'sysName', T.OctetString, () => state.name),
  ];
}

function addSystem(mib: any, state: DeviceState, descr: string, clock: SimClock) {
  for (const p of systemProviders(state, descr, clock)) {
    mib.registerProvider(p);
    mib.setScalarValue(p.name, p.scalarType === T.OctetString ? '' : p.scalarType === T.OID ? '1.3' : 0);
  }
}

/** A switch: system group, IF-MIB ifTable and ifXTable with `ports` Ethernet ports. */
export function switchMib(state: DeviceState, ports: number, clock: SimClock, olt = false): any {
  const mib = snmp.createMib();
  addSystem(mib, state, `netpulse simulated ${olt ? 'GPON OLT' : 'switch'} ${state.name}`, clock);
  const seed = hashName(state.name);
  // A tenth of a switch's ports idle (down); an OLT's PON ports all lit unless taken down (they are elements of the topology).
  const up = (row: number) => !state.downRows.has(row) && ((olt && row > 1) || rand(seed, row, 7) > 0.1);
  const secs = () => (clock.now() - state.bootTime) / 1000;
  const octets = (row: number, dir: number) => Math.floor(secs() * (1e5 + rand(seed, row, dir) * 5e7)) * (up(row) ? 1 : 0);
  const ifCols: Array<[number, string, number, (row: number) => unknown]> = [
    [1, 'ifIndex', T.Integer, (r) => r],
    [2, 'ifDescr', T.OctetString, (r) => (olt && r > 1 ? `gpon-olt_1/1/${r - 1}` : `GigabitEthernet0/${r}`)],
    [3, 'ifType', T.Integer, (r) => (olt && r > 1 ? 250 : 6)],
    [5, 'ifSpeed', T.Gauge, () => 1_000_000_000],
    [7, 'ifAdminStatus', T.Integer, () => 1],
    [8, 'ifOperStatus', T.Integer, (r) => (up(r) ? 1 : 2)],
    [10, 'ifInOctets', T.Counter, (r) => octets(r, 1) % 2 ** 32],
    [13, 'ifInDiscards', T.Counter, (r) => Math.floor(secs() * rand(seed, r, 3) * 0.1)],
    [14, 'ifInErrors', T.Counter, (r) => Math.floor(secs() * rand(seed, r, 4) * 0.05)],
    [16, 'ifOutOctets', T.Counter, (r) => octets(r, 2) % 2 ** 32],
    [19, 'ifOutDiscards', T.Counter, () => 0],
    [20, 'ifOutErrors', T.Counter, () => 0],
  ];
  const ifxCols: Array<[number, string, number, (row: number) => unknown]> = [
    [1, 'ifName', T.OctetString, (r) => `Gi0/${r}`],
    [6, 'ifHCInOctets', T.Counter64, (r) => octets(r, 1)],
    [7, 'ifHCInUcastPkts', T.Counter64, (r) => Math.floor(octets(r, 1) / 800)],
    [10, 'ifHCOutOctets', T.Counter64, (r) => octets(r, 2)],
    [11, 'ifHCOutUcastPkts', T.Counter64, (r) => Math.floor(octets(r, 2) / 800)],
    [15, 'ifHighSpeed', T.Gauge, () => 1000],
    // An OLT's PON ports carry their element id in their description, as operators' port descriptions carry circuit ids.
    [18, 'ifAlias', T.OctetString, (r) => (r === 1 ? 'uplink' : olt ? `${state.name}-P${String(r - 1).padStart(2, '0')}` : `access port ${r}`)],
  ];
  addTable(mib, 'ifTable', OID.ifEntry, ifCols, ports);
  addTable(mib, 'ifXTable', OID.ifXEntry, ifxCols, ports, 'ifTable');
  return mib;
}

/** What one cell's radio looks like now: moving values, stable per device name and cell. */
export interface CellRadio { up: boolean; rsrp: number; rsrq: number; sinr: number; users: number; prb: number }

export function cellRadio(state: DeviceState, row: number, clock: SimClock): CellRadio {
  const seed = hashName(state.name);
  const t = clock.now() / 1000;
  const up = !state.downRows.has(row);
  const drift = (k: number, amp: number) => Math.sin(t / 60 + rand(seed, row, k) * 6.28) * amp;
  const offset = state.radioOffsetDb + (state.cellOffsetDb.get(row) ?? 0);
  return {
    up,
    rsrp: -80 - rand(seed, row, 1) * 20 + drift(1, 3) + offset,
    rsrq: -8 - rand(seed, row, 2) * 4 + drift(2, 1) + offset / 4,
    sinr: 8 + rand(seed, row, 3) * 12 + drift(3, 2) + offset,
    users: up ? Math.round(20 + rand(seed, row, 4) * 150 + drift(4, 10)) : 0,
    prb: up ? Math.round(30 + rand(seed, row, 5) * 50 + drift(5, 10)) : 0,
  };
}

/** What a base station's backhaul looks like now (its own probe, as a TWAMP responder reports it). */
export function backhaul(state: DeviceState, clock: SimClock): { rttMs: number; lossPercent: number } {
  const seed = hashName(state.name);
  const t = clock.now() / 1000;
  const base = 4 + rand(seed, 11) * 12;
  const jitter = Math.abs(Math.sin(t / 7 + rand(seed, 12) * 6.28)) * 2;
  const loss = state.link.lossPercent > 0 ? state.link.lossPercent : (rand(seed, Math.floor(t / 10)) < 0.05 ? 0.5 : 0);
  return { rttMs: base + jitter + state.link.extraRttMs, lossPercent: loss };
}

/** A base station: system group and the NETPULSE-LTE-CELL-MIB cell table. */
export function baseStationMib(state: DeviceState, cells: number, clock: SimClock): any {
  const mib = snmp.createMib();
  addSystem(mib, state, `netpulse simulated eNodeB ${state.name}`, clock);
  const seed = hashName(state.name);
  const t = () => clock.now() / 1000;
  const radio = (r: number) => cellRadio(state, r, clock);
  const tenths = (v: number) => Math.round(v * 10);
  const cols: Array<[number, string, number, (row: number) => unknown]> = [
    [1, 'cellIndex', T.Integer, (r) => r],
    [2, 'cellName', T.OctetString, (r) => `${state.name}-C${r}`],
    [3, 'cellOperStatus', T.Integer, (r) => (radio(r).up ? 1 : 2)],
    [4, 'cellRsrp', T.Integer, (r) => tenths(radio(r).rsrp)],
    [5, 'cellRsrq', T.Integer, (r) => tenths(radio(r).rsrq)],
    [6, 'cellSinr', T.Integer, (r) => tenths(radio(r).sinr)],
    [7, 'cellConnectedUsers', T.Gauge, (r) => radio(r).users],
    [8, 'cellPrbUtilization', T.Gauge, (r) => radio(r).prb],
    [9, 'cellDlOctets', T.Counter64, (r) => Math.floor((t() - state.bootTime / 1000) * (2e6 + rand(seed, r, 6) * 2e7))],
    [10, 'cellUlOctets', T.Counter64, (r) => Math.floor((t() - state.bootTime / 1000) * (5e5 + rand(seed, r, 7) * 5e6))],
  ];
  addTable(mib, 'lteCellTable', OID.lteCellEntry, cols, cells);
  return mib;
}

/**
 * Registers a table whose first column is its integer index, or, with `foreignIndexOf`, a table
 * indexed by the first column of another (ifXTable by ifTable's ifIndex).
 */
function addTable(mib: any, name: string, oid: string, cols: Array<[number, string, number, (row: number) => unknown]>, rows: number, foreignIndexOf?: string) {
  const byCol = new Map(cols.map(([n, , , f]) => [n, f]));
  const types = new Map(cols.map(([n, , type]) => [n, type]));
  mib.registerProvider({
    name, type: snmp.MibProviderType.Table, oid, maxAccess: snmp.MaxAccess['not-accessible'],
    tableColumns: cols.map(([number, colName, type]) => ({ number, name: colName, type, maxAccess: RO })),
    tableIndex: foreignIndexOf ? [{ columnName: 'ifIndex', foreign: foreignIndexOf }] : [{ columnName: cols[0][1] }],
    handler: (req: any) => {
      if (req.instanceNode) {
        const { col, row } = cellOf(oid, req.oid);
        const f = byCol.get(col);
        if (f) req.instanceNode.value = encode(types.get(col)!, f(row));
      }
      req.done();
    },
  });
  for (let r = 1; r <= rows; r++) {
    const row = cols.map(([, , type, f]) => encode(type, f(r)));
    mib.addTableRow(name, foreignIndexOf ? [r, ...row] : row);
  }
}

/** Counter64 travels as an 8-byte big-endian buffer. */
function encode(type: number, v: unknown): unknown {
  if (type !== T.Counter64) return v;
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(Number(v)))) % (1n << 64n));
  return b;
}
