/**
 * Which gateway instance works for a webhook endpoint: a lease in the gateway's database, so that
 * every event is delivered by one instance whatever the number of gateways.
 *
 * FerretDB 1.24 applies no conditional update atomically (lib/writes.ts), but it does refuse a
 * duplicate `_id` atomically; so a lease is a sequence of terms, each a document
 * "<endpoint>#<term>" that exactly one instance manages to insert. The holder of the newest term
 * renews it (it alone writes that document) every `ttlMs / 3`; when the newest term has expired
 * (its holder died or stalled), any instance may insert the next one. A holder that finds a newer
 * term than its own has lost the endpoint; and it sends nothing once its own term has expired by
 * its own clock ({@link Leases.valid}), so two instances overlap only if one stalls while a
 * request it had started is in flight: at least once, never lost.
 */
import type { Collection, Db } from 'mongodb';
import type { Clock } from './schedule.ts';
import { isDuplicateKey } from '../../lib/drivers.ts';

interface LeaseRecord {
  /** "<endpoint>#<term>" */
  _id: string;
  endpoint: string;
  term: number;
  holder: string;
  expiresAt: Date;
}

export class Leases {
  private readonly leases: Collection<LeaseRecord>;
  /** Endpoint → until when this instance holds it (by its own clock). */
  private readonly held = new Map<string, number>();

  constructor(
    db: Db,
    private readonly holder: string,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {
    this.leases = db.collection<LeaseRecord>('webhookLeases');
  }

  /** Holds `endpoint` for another term length, if this instance has it or can take it; true when held. */
  async hold(endpoint: string): Promise<boolean> {
    const now = this.clock.now();
    const [current] = await this.leases.find({ endpoint }).sort({ term: -1 }).limit(1).toArray();
    if (current && current.holder === this.holder) {
      await this.leases.updateOne({ _id: current._id }, { $set: { expiresAt: new Date(now + this.ttlMs) } });
      this.held.set(endpoint, now + this.ttlMs);
      return true;
    }
    this.held.delete(endpoint);
    if (current && current.expiresAt.getTime() > now) return false;
    const term = (current?.term ?? 0) + 1;
    try {
      await this.leases.insertOne({ _id: `${endpoint}#${term}`, endpoint, term, holder: this.holder, expiresAt: new Date(now + this.ttlMs) });
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
    this.held.set(endpoint, now + this.ttlMs);
    await this.leases.deleteMany({ endpoint, term: { $lt: term } });
    return true;
  }

  /** Whether this instance still holds `endpoint` by its own clock (checked before every request it sends). */
  valid(endpoint: string): boolean {
    return (this.held.get(endpoint) ?? 0) > this.clock.now();
  }

  /** Gives `endpoint` up at once (shutdown, removal), so another instance takes it without waiting for the term to run out. */
  async release(endpoint: string): Promise<void> {
    if (!this.held.delete(endpoint)) return;
    const [current] = await this.leases.find({ endpoint }).sort({ term: -1 }).limit(1).toArray();
    if (current?.holder === this.holder) await this.leases.updateOne({ _id: current._id }, { $set: { expiresAt: new Date(0) } });
  }

  /** Forgets every lease of a removed endpoint. */
  async forget(endpoint: string): Promise<void> {
    this.held.delete(endpoint);
    await this.leases.deleteMany({ endpoint });
  }
}
