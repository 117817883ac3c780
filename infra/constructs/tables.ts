import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, type GlobalSecondaryIndexPropsV2, ProjectionType, StreamViewType, TableClass, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { controlTable, eventsTable, logTable, physicalTableName, type TableDefinition } from '../../shared/definitions/tables.js';

const attributeType = (type: 'S' | 'N') => (type === 'S' ? AttributeType.STRING : AttributeType.NUMBER);

/** The tables from shared/definitions/tables.ts: on demand, PITR, TTL, KMS, deletion protection, the stream. */
export class LeadlogTables extends Construct {
  readonly events: TableV2;
  readonly control: TableV2;
  /** Proof of record's Merkle logs: no TTL and no stream by its definition; PITR, KMS and deletion protection as the others. */
  readonly log: TableV2;

  constructor(scope: Construct, id: string, props: { prefix: string; key: IKey }) {
    super(scope, id);
    this.events = this.table(eventsTable, props);
    this.control = this.table(controlTable, props);
    this.log = this.table(logTable, props);
  }

  private table(definition: TableDefinition, props: { prefix: string; key: IKey }): TableV2 {
    const key = (name: string) => ({ name, type: attributeType(definition.attributes[name] ?? 'S') });
    const indexes: GlobalSecondaryIndexPropsV2[] = definition.indexes.map((index) => ({
      indexName: index.name,
      partitionKey: key(index.partitionKey),
      sortKey: key(index.sortKey),
      ...(index.projection.type === 'ALL'
        ? { projectionType: ProjectionType.ALL }
        : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: index.projection.nonKeyAttributes }),
    }));
    return new TableV2(this, definition.id, {
      tableName: physicalTableName(props.prefix, definition),
      partitionKey: key(definition.partitionKey),
      ...(definition.sortKey ? { sortKey: key(definition.sortKey) } : {}),
      billing: Billing.onDemand(),
      ...(definition.tableClass ? { tableClass: TableClass[definition.tableClass] } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.customerManagedKey(props.key),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
      ...(definition.stream ? { dynamoStream: StreamViewType.NEW_IMAGE } : {}),
      ...(indexes.length > 0 ? { globalSecondaryIndexes: indexes } : {}),
    });
  }
}
